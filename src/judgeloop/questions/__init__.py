"""Question kinds: the building blocks that task templates compose. One module per kind."""

# Each import registers its kind.
from judgeloop.questions import (  # noqa: F401
    choice,
    claims,
    code_run,
    preference,
    ranking,
    rating,
    spans,
    text,
)
