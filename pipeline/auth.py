"""The YouTube OAuth token: where it lives, how it is read, refreshed and written.

The token is Google's authorized-user JSON (`Credentials.to_json()`), kept in the user's config
folder (`platformdirs`), mode 0600: never in the site, never in the output folder.
`PIPELINE_YOUTUBE_TOKEN` names another file.

google-auth's `Credentials.from_authorized_user_info` always sets Google's token endpoint,
whatever the file says, so a token file cannot send its refresh token somewhere else. Only
`PIPELINE_YOUTUBE_TOKEN_URI` (for tests and proxies) changes it, by building the `Credentials`
with that `token_uri`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import PipelineError
from .links import is_loopback

SCOPES = ("https://www.googleapis.com/auth/youtube.force-ssl",)
APP_NAME = "episode-pipeline"
TOKEN_FILE = "youtube-token.json"
TOKEN_ENV = "PIPELINE_YOUTUBE_TOKEN"
TOKEN_URI_ENV = "PIPELINE_YOUTUBE_TOKEN_URI"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


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


def _expiry(value: Any) -> dt.datetime | None:
    """google-auth's expiry: a naive UTC datetime, as `to_json()` wrote it."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.strptime(value.rstrip("Z").split(".")[0], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None


def credentials_from_info(info: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    """`google.oauth2.credentials.Credentials` for a token file's contents."""
    from google.oauth2 import credentials as google_credentials

    Credentials: Any = google_credentials.Credentials  # google-auth's constructors are untyped
    missing = [k for k in ("refresh_token", "client_id", "client_secret") if not info.get(k)]
    if missing:
        raise AuthError(f"the token has no {', '.join(missing)}; run `episode auth youtube` again")
    token_uri = env.get(TOKEN_URI_ENV, "").strip()
    if not token_uri:
        return Credentials.from_authorized_user_info(dict(info), list(SCOPES))
    check_endpoint(token_uri, TOKEN_URI_ENV)
    expiry = _expiry(info.get("expiry"))
    token = info.get("token") if isinstance(info.get("token"), str) else None
    return Credentials(
        token=token,
        refresh_token=info["refresh_token"],
        token_uri=token_uri,
        client_id=info["client_id"],
        client_secret=info["client_secret"],
        scopes=list(SCOPES),
        expiry=expiry,
    )


def load_credentials(path: Path, env: Mapping[str, str]) -> Any:
    """The stored credentials, or an AuthError that says what to do."""
    try:
        info = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise AuthError(
            f"no YouTube token at {path}; run `episode auth youtube --client-secrets FILE` first"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AuthError(f"cannot read the YouTube token: {exc}", path=path) from None
    if not isinstance(info, dict):
        raise AuthError("not a token file (expected a JSON object)", path=path)
    return credentials_from_info(info, env)


def save_credentials(credentials: Any, path: Path) -> None:
    """Store the credentials as Google's authorized-user JSON, mode 0600."""
    write_private(path, (credentials.to_json() + "\n").encode("utf-8"))


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

    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), scopes=list(SCOPES))
    except FileNotFoundError:
        raise AuthError("no such file", path=client_secrets, field="--client-secrets") from None
    except (ValueError, KeyError, OSError) as exc:
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
