"""Workflows (API format) the fake server runs: the recorded scenarios and a txt2img graph."""

from __future__ import annotations

from typing import Any

Workflow = dict[str, dict[str, Any]]


def basic_image(prefix: str = "fx_basic", size: int = 64, color: int = 16744448) -> Workflow:
    """Trace b1: EmptyImage → SaveImage."""
    return {
        "3": {
            "class_type": "EmptyImage",
            "inputs": {"width": size, "height": size, "batch_size": 1, "color": color},
        },
        "9": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": prefix}},
    }


def cache_graph(prefix: str = "fx_cache", color: int = 11259375) -> Workflow:
    """Trace e: EmptyImage → ImageInvert → SaveImage, plus a PreviewImage of the first."""
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 40, "height": 40, "batch_size": 1, "color": color},
        },
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": prefix}},
        "4": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
    }


def txt2img(
    *,
    seed: int = 0,
    steps: int = 4,
    prefix: str = "takeboard/image",
    width: int = 64,
    height: int = 64,
    batch: int = 1,
    ckpt: str = "sd_v1-5.safetensors",
    text: str = "a lighthouse at dusk",
) -> Workflow:
    """The classic SD graph: checkpoint, two prompts, empty latent, KSampler, decode, save."""
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        "5": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": width, "height": height, "batch_size": batch},
        },
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": seed,
                "steps": steps,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "denoise": 1.0,
                "model": ["4", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": prefix}},
    }


def video_and_animation() -> Workflow:
    """Trace c1: one batch saved as animated WEBP, APNG, mp4 (SaveVideo) and WEBM."""
    return {
        "1": {
            "class_type": "EmptyImage",
            "inputs": {"width": 64, "height": 64, "batch_size": 3, "color": 3368652},
        },
        "10": {
            "class_type": "SaveAnimatedWEBP",
            "inputs": {
                "images": ["1", 0],
                "filename_prefix": "fx_anim",
                "fps": 6.0,
                "lossless": False,
                "quality": 80,
                "method": "default",
            },
        },
        "11": {
            "class_type": "SaveAnimatedPNG",
            "inputs": {
                "images": ["1", 0],
                "filename_prefix": "fx_apng",
                "fps": 6.0,
                "compress_level": 4,
            },
        },
        "20": {"class_type": "CreateVideo", "inputs": {"images": ["1", 0], "fps": 6.0}},
        "21": {
            "class_type": "SaveVideo",
            "inputs": {
                "video": ["20", 0],
                "filename_prefix": "video/fx_vid",
                "format": "auto",
                "codec": "auto",
            },
        },
        "22": {
            "class_type": "SaveWEBM",
            "inputs": {
                "images": ["1", 0],
                "filename_prefix": "fx_webm",
                "codec": "vp9",
                "fps": 6.0,
                "crf": 32.0,
            },
        },
    }


def audio_outputs() -> Workflow:
    """Trace c2: EmptyAudio saved as FLAC, MP3, Opus and a temp PreviewAudio."""
    audio = ["1", 0]
    return {
        "1": {
            "class_type": "EmptyAudio",
            "inputs": {"duration": 0.5, "sample_rate": 44100, "channels": 2},
        },
        "2": {"class_type": "SaveAudio", "inputs": {"audio": audio, "filename_prefix": "audio/fx"}},
        "3": {
            "class_type": "SaveAudioMP3",
            "inputs": {"audio": audio, "filename_prefix": "audio/fx_mp3", "quality": "128k"},
        },
        "4": {
            "class_type": "SaveAudioOpus",
            "inputs": {"audio": audio, "filename_prefix": "audio/fx_opus", "quality": "64k"},
        },
        "5": {"class_type": "PreviewAudio", "inputs": {"audio": audio}},
    }
