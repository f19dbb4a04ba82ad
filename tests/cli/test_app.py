from typer.testing import CliRunner

from hoirecon import __version__
from hoirecon.cli.app import app


def test_version_prints_package_version() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == __version__
