"""A configured command line as a backend: run a program once per job, collect its files.

Examples users configure: a ComfyUI workflow script (``{python} script.py --prompt {prompt}
--output {output_dir}``), Applio (``{python} core.py infer --input-path {source_audio}
--output-path {output_dir}/voice.wav --pth-path … --pitch {pitch}``) and WanGP's headless CLI
(``{python} wgp.py --process {request_file} --output-dir {output_dir}``; exit 0 ok, 1 error,
130 interrupted; progress lines like ``[12/30] Prompt 1/3 - Denoising``).

The command (`CommandConfig.command`) is a list of words; one word is one argv item, never a
shell. Placeholders ``{name}`` inside a word are replaced by:

* a request input (``request["inputs"][name]``): text as is, true/false for booleans, numbers
  as written, lists and objects as JSON;
* ``{python}`` — ``config.python``, else the Python running Takeboard;
* ``{output_dir}`` — ``config.output_dir`` (relative to ``cwd``), else a fresh ``workdir/out``;
* ``{workdir}`` — the job's folder;
* ``{request_file}`` — ``workdir/request.json``: the inputs as JSON (like ``wgp.py --process``).

Built-in names win over inputs of the same name. An input that is present but null drops its
word; when the word is just ``{name}`` and the word before it is a flag (starts with ``-``, no
placeholder, not a negative number), the flag goes too, so ``--negative-prompt
{negative_prompt}`` disappears cleanly. A name that is neither an input of the request nor a
built-in is a PermanentBackendError naming it and the known names (templates list every input,
optional ones as null). Words with other braces (``{"a": 1}``) are left as they are.

Threads: `run` and `health` are called on a worker thread. `run` starts the program in its own
process group (POSIX session), reads its stdout and stderr on two daemon reader threads (so big
output never fills a pipe), and supervises it on the calling thread: progress events parsed by
the readers are handed over through a queue, so ``on_event`` is only called on the caller's
thread. Cancel, the deadline, or any error in the caller stops the whole process group
(SIGTERM, a grace period, then SIGKILL); whatever the program left running in its group when it
exits is stopped too.

Errors (core.errors): exit status ≠ 0 → PermanentBackendError with the last stderr lines, or
OutOfMemory when they report a CUDA/torch out-of-memory; exit 0 without new files, a missing or
non-executable program, a missing cwd, an unknown placeholder, the deadline → Permanent;
``cancel`` → JobCancelled.

Modules:

client.py    CommandClient: health, run (prepare, supervise, judge the exit, collect)
argv.py      the placeholders filled in (pure)
progress.py  output lines → Progress; the reader threads
process.py   finding the program, its process group, stopping it, exit words
files.py     the output folder before and after; copying new files into the job's folder
"""

from .client import CommandClient
from .progress import parse_progress

__all__ = ["CommandClient", "parse_progress"]
