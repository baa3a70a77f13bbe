"""The prompt list's choose filters become the query (issue 14, part D)."""

from app.list_state import ALL, Filters, build_query


def test_circled_and_rated_filters_make_the_query():
    query = build_query(Filters(circled_only=True, min_rating="3"))
    assert (query.circled, query.min_rating) == (True, 3)
    plain = build_query(Filters(min_rating=ALL))
    assert (plain.circled, plain.min_rating) == (False, 0)
