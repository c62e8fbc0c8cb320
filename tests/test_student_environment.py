"""What the sandbox's environment prints on its own never reaches a student's feedback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import grade_folder, solution_text

pytestmark = pytest.mark.sandbox


def test_matplotlib_in_a_submission_prints_no_fontconfig_error(tmp_path: Path) -> None:
    # matplotlib builds its font list with fontconfig's fc-list, which complains on stderr
    # when the sandbox lacks /etc/fonts.
    plot = ("import matplotlib.pyplot as plt\n\nplt.figure()\nplt.text(0, 0, 'x')\n"
            "plt.savefig('/tmp/plot.png')\n")
    code = solution_text("a2_softmax").replace(
        "from __future__ import annotations\n", "from __future__ import annotations\n" + plot, 1)
    (tmp_path / "batch" / "alice").mkdir(parents=True)
    (tmp_path / "batch" / "alice" / "softmax.py").write_text(code)

    result = grade_folder(tmp_path, "a2_softmax", tmp_path / "batch", workers=1)["alice"]

    assert result["status"] == "ok", result["error"]
    assert "Fontconfig" not in result["output"]
