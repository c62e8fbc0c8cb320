#!/usr/bin/env python3
"""Hand in your work to the course's grading service and print your feedback.

Standard library only: runs from a terminal or a notebook cell (Colab included).

    python submit.py backprop.py --server https://grader.example.edu --token YOUR_TOKEN
    python submit.py a1_backprop.ipynb          # GRADER_URL and GRADER_TOKEN from the environment

In a notebook cell:  !python submit.py a1_backprop.ipynb --server URL --token TOKEN
(save the notebook first). Create your token on your account page of the service. The
assignment is read from the notebook next to this file; --assignment names it otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

POLL_S = 2.0


class SubmitError(Exception):
    """Something the student can fix: the message says what."""


def assignment_here(folder: Path) -> str | None:
    """The assignment of the released notebook in ``folder`` (its grader metadata)."""
    for notebook in sorted(folder.glob("*.ipynb")):
        try:
            return str(json.loads(notebook.read_text())["metadata"]["grader"]["assignment"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def request(server: str, token: str, path: str, body: bytes | None = None,
            content_type: str = "") -> dict:
    req = urllib.request.Request(server.rstrip("/") + path, data=body, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/json",
        **({"Content-Type": content_type} if content_type else {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return json.loads(response.read().decode())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read().decode()).get("error", "")
        except ValueError:
            message = ""
        raise SubmitError(f"the service answered {exc.code}: {message or exc.reason}") from None
    except urllib.error.URLError as exc:
        raise SubmitError(f"cannot reach {server}: {exc.reason}") from None


def upload(server: str, token: str, assignment: str, path: Path) -> dict:
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{path.name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
    body = head.encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return request(server, token, f"/api/assignments/{assignment}/submissions", body,
                   f"multipart/form-data; boundary={boundary}")


def wait(server: str, token: str, submission: int, limit_s: float) -> dict:
    deadline = time.monotonic() + limit_s
    while True:
        status = request(server, token, f"/api/submissions/{submission}")
        if status["status"] not in ("queued", "running"):
            return status
        if time.monotonic() > deadline:
            raise SubmitError(f"still {status['status']} after {limit_s:.0f} s; your upload "
                              f"is safe: check it later on the service (submission "
                              f"{submission})")
        place = status.get("queue_position")
        print(f"  {status['status']}" + (f" (place {place} in the queue)" if place else ""),
              flush=True)
        time.sleep(POLL_S)


def show(feedback: dict) -> None:
    view = feedback.get("feedback") or {}
    if feedback.get("score") is not None:
        print(f"score: {feedback['score']:g} / {feedback['max_score']:g}")
    else:
        print("your score is not released yet")
    if view.get("error"):
        print(f"what went wrong: {view['error']}")
    for test in view.get("tests") or []:
        mark = "ok  " if test.get("status") == "passed" else "FAIL"
        print(f"  {mark} {test.get('name') or test.get('test_id')} "
              f"({test.get('score', 0):g}/{test.get('max_score', 0):g})")
        if test.get("output") and test.get("status") != "passed":
            print("       " + str(test["output"]).replace("\n", "\n       "))
    if view.get("tests_withheld"):
        print(f"  ({view['tests_withheld']} tests are not shown yet)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="your .py, .ipynb or .zip")
    parser.add_argument("--server", default=os.environ.get("GRADER_URL"),
                        help="the service's address (default: $GRADER_URL)")
    parser.add_argument("--token", default=os.environ.get("GRADER_TOKEN"),
                        help="your API token (default: $GRADER_TOKEN)")
    parser.add_argument("--assignment", help="default: the notebook next to this file says")
    parser.add_argument("--no-wait", action="store_true", help="upload and stop")
    parser.add_argument("--wait-limit", type=float, default=900, help="seconds (default 900)")
    args = parser.parse_args(argv)
    assignment = args.assignment or assignment_here(Path(__file__).resolve().parent) or \
        assignment_here(args.file.resolve().parent)
    try:
        if not args.server or not args.token:
            raise SubmitError("give --server and --token (or set GRADER_URL and GRADER_TOKEN)")
        if assignment is None:
            raise SubmitError("cannot tell the assignment: pass --assignment NAME")
        if not args.file.is_file():
            raise SubmitError(f"{args.file} is not a file")
        received = upload(args.server, args.token, assignment, args.file)
        print(f"received: submission {received['id']} of {assignment}")
        if args.no_wait:
            return 0
        wait(args.server, args.token, received["id"], args.wait_limit)
        show(request(args.server, args.token, f"/api/submissions/{received['id']}/feedback"))
        return 0
    except SubmitError as exc:
        print(f"submit.py: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
