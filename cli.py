"""What every command line does with a user's mistake: one line on stderr and exit code 2, no traceback.

The mistakes are the libraries' named errors (each derives from common.errors.UserError), a path that does
not exist, and a script's own `raise SystemExit("message")`.
Anything else is a bug and keeps its traceback. Use from a script:

    if __name__ == "__main__":
        sys.exit(run_main(main, "test_model.py"))
"""
from __future__ import annotations

import os
import sys

from common.errors import UserError

USAGE_EXIT_CODE = 2


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception classes that mean "the user's input is wrong": every library's named error derives
    from common.errors.UserError; a path that does not exist is one too."""
    return (UserError, FileNotFoundError)


def _quiet_opencv() -> None:
    """OpenCV logs its own decoder warnings for corrupt files; the data package already names them."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # read when cv2 is first imported
    cv2 = sys.modules.get("cv2")
    if cv2 is not None and hasattr(cv2, "utils") and hasattr(cv2.utils, "logging"):
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def one_line(prog: str, message: object) -> str:
    text = " ".join(str(message).split())
    return text if text.startswith(f"{prog}:") else f"{prog}: error: {text}"


def run_main(main, prog: str, argv=None) -> int:
    """main(argv) with user mistakes turned into one stderr line and exit code 2."""
    _quiet_opencv()
    try:
        return main(argv)
    except SystemExit as stop:
        if isinstance(stop.code, str):  # a script's own one-line refusal
            print(one_line(prog, stop.code), file=sys.stderr)
            return USAGE_EXIT_CODE
        raise
    except Exception as error:  # noqa: BLE001 - re-raised unless it is a named user error
        if not isinstance(error, user_errors()):
            raise
        print(one_line(prog, error), file=sys.stderr)
        return USAGE_EXIT_CODE


def report_bad_inputs(prog: str, problems: list[str], total: int) -> int:
    """After a run that went on past bad input files: list them on stderr; exit code 2 when any."""
    if not problems:
        return 0
    print(f"{prog}: {len(problems)} of {total} input file(s) skipped (every other file was processed):",
          file=sys.stderr)
    for problem in problems:
        print(f"  {' '.join(str(problem).split())}", file=sys.stderr)
    return USAGE_EXIT_CODE
