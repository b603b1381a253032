import pickle

import pytest

from llmrelay.errors import AuthenticationError
from llmrelay.secrets import Secret, redact

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


def test_secret_never_shows_its_value():
    s = Secret(KEY)
    for text in (repr(s), str(s), f"{s}", f"{s!r}", "%s" % s):  # noqa: UP031
        assert KEY not in text
        assert s.fingerprint in text
    assert s.reveal() == KEY


def test_secret_cannot_be_pickled():
    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))


def test_fingerprint_is_stable_and_distinct():
    assert Secret(KEY).fingerprint == Secret(KEY).fingerprint
    assert Secret(KEY).fingerprint != Secret(KEY + "x").fingerprint
    assert len(Secret(KEY).fingerprint) == 8


@pytest.mark.parametrize(
    "leak",
    [
        KEY,
        "sk-ant-api03-abcdefghijkl",
        "AIzaSyA1234567890abcdefgh",
        "gsk_abcdefghijkl",
        "Bearer abc.def.ghijkl",
    ],
)
def test_redact_scrubs_key_shapes(leak):
    assert leak not in redact(f"Incorrect API key provided: {leak}.")


def test_redact_known_values_of_any_shape():
    assert "hunter2hunter2" not in redact("pw hunter2hunter2 here", [Secret("hunter2hunter2")])


def test_errors_scrub_provider_messages():
    err = AuthenticationError(f"Incorrect API key provided: {KEY}", provider="openai", status=401)
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in err.message
