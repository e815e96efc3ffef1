"""The YouTube OAuth token: where it lives, how it is read, refreshed and written.

The token is Google's authorized-user JSON (`Credentials.to_json()`), kept in the user's config
folder (`platformdirs`), mode 0600: never in the site, never in the output folder.
`PIPELINE_YOUTUBE_TOKEN` names another file.

The `Credentials` are built from the file's checked fields only (the access and refresh tokens,
the client id and secret, the expiry), always with Google's token endpoint whatever the file
says, so a token file cannot send its refresh token somewhere else. Only
`PIPELINE_YOUTUBE_TOKEN_URI` (for tests and proxies) changes it.

Nothing from a server reaches the token file unchecked: an answer of the token endpoint is
refused (`token_answer_problem`, called by the transport in `youtube.api`) before google-auth
reads it, and `save_credentials` refuses a token with a character a Bearer token cannot hold.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import PipelineError
from ..text.links import is_loopback
from ..user_files import KB, MissingUserFile, UserFileError, read_text, read_with_stat

SCOPES = ("https://www.googleapis.com/auth/youtube.force-ssl",)
APP_NAME = "episode-pipeline"
TOKEN_FILE = "youtube-token.json"
TOKEN_ENV = "PIPELINE_YOUTUBE_TOKEN"
TOKEN_URI_ENV = "PIPELINE_YOUTUBE_TOKEN_URI"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
TOKEN_ANSWER_BYTES = 64 * KB
"""The most an answer of the token endpoint may hold (Google's are under 2 KB)."""
MAX_TOKEN_CHARS = 4096
"""The longest access or refresh token, client id or secret taken (Google's tokens are under 2 KB)."""
MAX_EXPIRES_IN = 366 * 24 * 3600
# RFC 6750 b64token: what an `Authorization: Bearer` header can carry, nothing else.
BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 6749 VSCHAR: a refresh token, client id or secret is printable ASCII, no control character.
VISIBLE = re.compile(r"[\x20-\x7e]+")


class AuthError(PipelineError):
    """No usable token: the user has to run `episode auth youtube` (again)."""


def is_loopback_url(url: str) -> bool:
    """True for a URL to localhost or a loopback address (names are not resolved)."""
    return is_loopback(urlsplit(url).hostname or "")


def check_endpoint(url: str, name: str) -> str:
    """An https URL, or an http one on loopback: a bearer token never crosses a network in clear."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback_url(url):
        return url
    raise PipelineError(f"{url!r} must be an https:// URL (http:// only on loopback)", field=name)


def token_path(env: Mapping[str, str], site: Path | None = None) -> Path:
    """The token file: `PIPELINE_YOUTUBE_TOKEN`, else `<user config folder>/youtube-token.json`.

    A token inside `site` (the folder of the settings file: a Jekyll site, often a git
    repository that gets published) is refused.
    """
    named = env.get(TOKEN_ENV, "").strip()
    if named:
        path = Path(named).expanduser()
    else:
        from platformdirs import user_config_path

        path = user_config_path(APP_NAME) / TOKEN_FILE
    if site is not None and path.resolve().is_relative_to(site.resolve()):
        raise AuthError(
            f"{path} is inside the site folder {site}; keep the token out of the site "
            "(it could be committed or published)",
            field=TOKEN_ENV,
        )
    return path


_TEMP_NAMES = itertools.count()


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, mode 0600, creating its folder with mode 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.{os.getpid()}.{next(_TEMP_NAMES)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # whatever the umask said
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def token_problem(value: object) -> str | None:
    """Why `value` cannot be an access token sent as `Authorization: Bearer …`, or None."""
    if not isinstance(value, str) or not value:
        return "no access token"
    if len(value) > MAX_TOKEN_CHARS:
        return f"an access token of {len(value):,} characters (at most {MAX_TOKEN_CHARS:,})"
    if not BEARER_TOKEN.fullmatch(value):
        return f"an access token with a character no Bearer token holds ({_first_odd(value, BEARER_TOKEN)})"
    return None


def visible_problem(name: str, value: object) -> str | None:
    """Why `value` cannot be a refresh token, client id or secret (`name`), or None."""
    if not isinstance(value, str) or not value:
        return f"no {name}"
    if len(value) > MAX_TOKEN_CHARS:
        return f"a {name} of {len(value):,} characters (at most {MAX_TOKEN_CHARS:,})"
    if not VISIBLE.fullmatch(value):
        return f"a {name} with a control or non-ASCII character ({_first_odd(value, VISIBLE)})"
    return None


def _first_odd(value: str, allowed: re.Pattern[str]) -> str:
    """The first character of `value` that `allowed` does not take, as Python writes it."""
    return repr(next((c for c in value if not allowed.fullmatch(c)), value[:1]))


def token_answer_problem(status: int, content: bytes) -> str | None:
    """Why an answer of the token endpoint cannot be used, or None. Checked by the transport
    before google-auth reads it (google-auth would fail on it with a traceback, or keep a token
    that breaks every request header, or store what it was given)."""
    if len(content) > TOKEN_ANSWER_BYTES:
        return f"over {TOKEN_ANSWER_BYTES // KB} KB"
    try:
        data = json.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except (ValueError, RecursionError):
        # An error answer may be plain text; google-auth reports it as it is.
        return "not JSON" if status == 200 else None
    if not isinstance(data, dict):
        return f"not a JSON object but {json_kind(data)}"
    if status != 200:
        for key in ("error", "error_description"):
            if key in data and not isinstance(data[key], str | None):
                return f"its {key} is not text"
        return None
    problem = token_problem(data.get("access_token"))
    if problem:
        return problem
    if "refresh_token" in data:
        problem = visible_problem("refresh token", data["refresh_token"])
        if problem:
            return problem
    if "expires_in" in data and _seconds(data["expires_in"]) is None:
        return f"expires_in is not a number of seconds ({_short_repr(data['expires_in'])})"
    for key in ("scope", "token_type", "id_token"):
        if key in data and not isinstance(data[key], str):
            return f"its {key} is not text"
    return None


def _seconds(value: object) -> int | None:
    """`expires_in` as google-auth will read it (a number, or digits in a string), if sane."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_EXPIRES_IN:
        return value
    return None


def json_kind(data: object) -> str:
    """What a JSON value is, for a message: `a list`, `a string`, `null`…"""
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return "a boolean" if isinstance(data, bool) else names.get(type(data), "null")


def _short_repr(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _expiry(value: Any) -> dt.datetime | None:
    """google-auth's expiry: a naive UTC datetime, as `to_json()` wrote it."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.strptime(value.rstrip("Z").split(".")[0], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None


def credentials_from_info(info: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    """`google.oauth2.credentials.Credentials` for a token file's contents, from its checked
    fields only; an AuthError when one of them cannot be used."""
    from google.oauth2 import credentials as google_credentials

    Credentials: Any = google_credentials.Credentials  # google-auth's constructors are untyped
    missing = [k for k in ("refresh_token", "client_id", "client_secret") if not info.get(k)]
    if missing:
        raise AuthError(f"the token has no {', '.join(missing)}; run `episode auth youtube` again")
    for key, name in (
        ("refresh_token", "refresh token"),
        ("client_id", "client id"),
        ("client_secret", "client secret"),
    ):
        problem = visible_problem(name, info[key])
        if problem:
            raise AuthError(f"the token file holds {problem}; run `episode auth youtube` again")
    token = info.get("token")
    if token is not None and token_problem(token):
        raise AuthError(f"the token file holds {token_problem(token)}; run `episode auth youtube` again")
    token_uri = env.get(TOKEN_URI_ENV, "").strip()
    if token_uri:
        check_endpoint(token_uri, TOKEN_URI_ENV)
    # No expiry (or one that is no date): refreshed before the first call, as google-auth does.
    expiry = _expiry(info.get("expiry")) or dt.datetime(1970, 1, 1)
    return Credentials(
        token=token,
        refresh_token=info["refresh_token"],
        token_uri=token_uri or GOOGLE_TOKEN_URI,
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=list(SCOPES),
        expiry=expiry,
    )


def load_credentials(path: Path, env: Mapping[str, str], warn: Callable[[str], None] | None = None) -> Any:
    """The stored credentials, or an AuthError that says what to do. A token file other users
    may read or change is used, with one line to `warn`."""
    try:
        data, info = read_with_stat(path, "token")
    except MissingUserFile:
        raise AuthError(
            f"no YouTube token at {path}; run `episode auth youtube --client-secrets FILE` first"
        ) from None
    except UserFileError as exc:
        raise AuthError(f"cannot read the YouTube token: {exc.message}", path=path) from None
    if warn is not None and info.st_mode & 0o077:
        warn(_exposed(path, info.st_mode))
    try:
        content = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AuthError(f"cannot read the YouTube token: {exc}", path=path) from None
    if not isinstance(content, dict):
        raise AuthError("not a token file (expected a JSON object)", path=path)
    return credentials_from_info(content, env)


def _exposed(path: Path, mode: int) -> str:
    """`<path>: other users can read the YouTube token (mode 0644); chmod 600 <path>`."""
    can = " and ".join(verb for verb, bits in (("read", 0o044), ("change", 0o022)) if mode & bits) or "open"
    return (
        f"{path}: other users can {can} the YouTube token (mode {stat.S_IMODE(mode):04o}); "
        f"`chmod 600 {path}` keeps it yours"
    )


def check_credentials(credentials: Any) -> None:
    """Refuse credentials that must not be stored: a token a request header cannot carry, a
    refresh token, client id or secret with a control character, anything oversized."""
    problem = None
    if credentials.token is not None:
        problem = token_problem(credentials.token)
    for name, value in (
        ("refresh token", credentials.refresh_token),
        ("client id", credentials.client_id),
        ("client secret", credentials.client_secret),
    ):
        problem = problem or visible_problem(name, value)
    if problem:
        raise AuthError(f"the token Google's answer holds cannot be used ({problem}); nothing was saved")


def save_credentials(credentials: Any, path: Path) -> None:
    """Store the credentials as Google's authorized-user JSON, mode 0600, once they are checked."""
    check_credentials(credentials)
    try:
        write_private(path, (credentials.to_json() + "\n").encode("utf-8"))
    except OSError as exc:
        raise AuthError(f"cannot save the YouTube token: {exc.strerror or exc}", path=path) from None


def read_client_secrets(path: Path) -> dict[str, Any]:
    """The OAuth client JSON of a desktop (installed) app, or one line saying why not."""
    text = read_text(path, "secrets", field="--client-secrets")
    try:
        config: dict[str, Any] = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise AuthError(f"not an OAuth client secrets file: not JSON ({exc})", path=path) from None
    app = config.get("installed", config.get("web")) if isinstance(config, dict) else None
    if not isinstance(app, dict):
        raise AuthError(
            'not an OAuth client secrets file for a desktop app (no "installed" object)', path=path
        )
    for key in ("client_id", "client_secret", "auth_uri", "token_uri"):
        problem = visible_problem(key, app.get(key))
        if problem:
            raise AuthError(f"not a usable OAuth client secrets file: {problem}", path=path)
    return config


def run_auth_flow(
    client_secrets: Path,
    path: Path,
    *,
    open_browser: bool = True,
    port: int = 0,
) -> Path:
    """The installed-app OAuth flow: a browser (or the printed URL) and a redirect to loopback.

    google-auth-oauthlib prints the URL itself (`authorization_prompt_message`). The redirect
    lands on `http://localhost:<port>/`: over SSH, forward that port (`ssh -L 8080:localhost:8080`)
    and use `--port 8080`.
    """
    from google_auth_oauthlib.flow import InstalledAppFlow

    config = read_client_secrets(client_secrets)  # a regular file of at most 64 KB, checked
    try:
        flow = InstalledAppFlow.from_client_config(config, scopes=list(SCOPES))
    except (ValueError, KeyError, TypeError) as exc:
        raise AuthError(
            f"not an OAuth client secrets file for a desktop app ({exc})", path=client_secrets
        ) from None
    prompt = (
        "Open this URL in a browser, sign in with the channel's Google account and allow access:\n{url}"
        if not open_browser
        else "A browser window opens to sign in; if it does not, open this URL:\n{url}"
    )
    try:
        credentials = flow.run_local_server(
            host="localhost",
            port=port,
            open_browser=open_browser,
            authorization_prompt_message=prompt,
            success_message="The episode pipeline is authorized; you may close this window.",
            access_type="offline",  # a refresh token
            prompt="consent",  # Google sends a refresh token only on consent
        )
    except OSError as exc:
        raise AuthError(f"cannot wait for the redirect on port {port}: {exc.strerror or exc}") from None
    except Exception as exc:  # oauthlib's errors: a refused consent, a bad code, a state mismatch
        raise AuthError(f"authorization failed: {type(exc).__name__}: {exc}") from None
    if not credentials.refresh_token:
        raise AuthError("Google sent no refresh token; remove the app's access and authorize again")
    save_credentials(credentials, path)
    return path
