"""The ``chatd`` root command and the one place where failures become exit codes and single lines.

Exit status: 0 success; 1 a refused operation or an operator mistake (the line says what to fix); 2 bad
usage or a bad configuration value; 130 interrupted (Ctrl-C, or Ctrl-D at a prompt).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from .. import __version__
from ..config import ConfigError
from ..domain.errors import ChatdError, Unavailable
from ..operator_errors import OperatorError
from .accounts import token, user
from .context import config_option
from .data import db, export, import_
from .serving import check_config, serve
from .tail import tail


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="chatd", message="%(prog)s %(version)s")
@config_option
def cli() -> None:
    """chatd: a realtime team-chat server, and the tools to run it.

    Every command reads the same configuration: --config FILE (before or after the command), else
    $CHATD_CONFIG, plus CHATD_SECTION__KEY variables. `chatd check-config` shows what that resolves to.
    """


for command in (serve, check_config, db, user, token, export, import_, tail):
    cli.add_command(command)


def _fail(message: str, code: int) -> int:
    click.echo(f"chatd: {message}", err=True)
    return code


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("chatd").addHandler(logging.NullHandler())  # failures reach the operator as one line, below
    try:
        result: Any = cli.main(args=argv, prog_name="chatd", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Abort:
        return _fail("cancelled; nothing was changed", 130)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ConfigError as exc:
        return _fail(f"config error: {exc}", 2)
    except OperatorError as exc:
        return _fail(str(exc), exc.exit_code)
    except Unavailable as exc:
        return _fail(exc.detail, 1)
    except ChatdError as exc:
        return _fail(exc.message, 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:  # `chatd user list | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
