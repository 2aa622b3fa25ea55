"""Translations: every message marked in the source has a Chinese translation, the compiled catalogue is current,
and the language switch reaches the command line, config errors and figures (with no missing glyphs)."""

import gettext
import io
import re
import warnings

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import loyaltysim
from loyaltysim import ConfigError, load_config
from loyaltysim.cli import main
from loyaltysim.i18n import DOMAIN, LANG_ENV, LOCALE_DIR, _, language, translation

from .conftest import CONFIGS

SOURCE = loyaltysim.__path__[0]
PO = LOCALE_DIR / "zh" / "LC_MESSAGES" / f"{DOMAIN}.po"
FIELDS = re.compile(r"{([^{}:!]*)[^{}]*}")


def _marked() -> set[str]:
    found = extract_from_dir(SOURCE, method_map=[("**.py", "python")])
    return {message if isinstance(message, str) else message[0] for _file, _line, message, _comments, _context in found}


@pytest.fixture(scope="module")
def catalogue():
    with PO.open("rb") as handle:
        return read_po(handle)


def test_every_marked_message_has_a_chinese_translation(catalogue):
    marked = _marked()
    assert len(marked) > 100
    untranslated = sorted(m for m in marked if not (catalogue.get(m) and catalogue.get(m).string and not catalogue.get(m).fuzzy))
    assert untranslated == [], "run `make translations` and translate these in " + str(PO)
    stale = sorted(m.id for m in catalogue if m.id and m.id not in marked)
    assert stale == [], "messages no longer in the source: run `make translations`"


def test_translations_keep_the_placeholders(catalogue):
    for message in catalogue:
        if message.id:
            assert sorted(FIELDS.findall(message.id)) == sorted(FIELDS.findall(message.string)), message.id


def test_the_compiled_catalogue_matches_its_source(catalogue):
    compiled = gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=["zh"])
    for message in catalogue:
        if message.id:
            assert compiled.gettext(message.id) == message.string, f"{message.id!r}: run `make translations`"


@pytest.mark.parametrize(
    ("value", "expected"), [("zh", "zh"), ("zh_CN.UTF-8", "zh"), ("zh-Hans", "zh"), ("en", "en"), ("fr", "en"), ("", "en")]
)
def test_language_codes(monkeypatch, value, expected):
    monkeypatch.setenv(LANG_ENV, value)
    assert language() == expected


def test_english_is_the_source_text(monkeypatch):
    monkeypatch.delenv(LANG_ENV, raising=False)
    assert _("Period {step} of {steps}") == "Period {step} of {steps}"
    monkeypatch.setenv(LANG_ENV, "zh")
    assert _("Period {step} of {steps}").format(step=3, steps=120) == "第 3 期，共 120 期"
    assert translation("zh") is translation("zh")


def test_commands_speak_chinese(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv(LANG_ENV, "zh")
    assert main(["validate", str(CONFIGS / "baseline.yaml"), "--set", "run.steps=5"]) == 0
    captured = capsys.readouterr()
    assert "有效（2000 位顾客，5 家企业" in captured.out and "不长于预热期" in captured.err
    bad = tmp_path / "bad.yaml"
    bad.write_text("loyalty:\n  link: treshold\ncustomers：\n  n: 5\n", encoding="utf-8")
    assert main(["validate", str(bad)]) == 2
    assert "中文输入法的全角符号 '：'" in capsys.readouterr().err


def test_config_errors_in_chinese(monkeypatch, tmp_path):
    monkeypatch.setenv(LANG_ENV, "zh")
    path = tmp_path / "bad.yaml"
    path.write_text("loyalty: {link: treshold}\nfirms: [{name: 甲, price: -1}]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "loyalty.link: 应为以下之一：linear, threshold" in text and "（是不是想写 'threshold'？）" in text
    assert "firms[0] (甲).price: 应大于或等于 0; 实际是 -1" in text


def _needs_a_cjk_font() -> None:
    """Outside CI, skip where no Chinese font is installed (CI installs fonts-noto-cjk: .ci/run)."""
    import os

    from loyaltysim.reporting.figures.style import use_cjk_fallback

    if len(use_cjk_fallback()) == 1 and os.environ.get("CI", "").lower() in ("", "0", "false"):
        pytest.skip("no Chinese font installed (apt-get install fonts-noto-cjk)")


def test_chinese_figures_render_every_glyph(monkeypatch):
    _needs_a_cjk_font()
    import pandas as pd

    from loyaltysim.reporting.figures.scenario import churn_by_band_figure, market_share_figure

    monkeypatch.setenv(LANG_ENV, "zh")
    firms = pd.DataFrame({"step": [1, 2, 1, 2], "firm": ["甲企业", "甲企业", "乙企业", "乙企业"], "share": [0.5, 0.6, 0.5, 0.4]})
    churn = pd.DataFrame({"latent": [0.5, 0.4, 0.3, 0.2, 0.1], "rated": [0.4, 0.3, 0.3, 0.2, 0.1]})
    import matplotlib.pyplot as plt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures = [market_share_figure(firms), churn_by_band_figure(churn)]
        for figure in figures:
            figure.savefig(io.BytesIO(), format="png")
    bands = figures[1].axes[0]
    title, first_band = bands.get_title(), bands.get_xticklabels()[0].get_text()
    for figure in figures:
        plt.close(figure)  # pyplot keeps figures until closed (other tests check none is left open)
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []
    assert title == "各满意度等级的流失" and first_band == "非常\n不满意"


def test_app_views_in_chinese_render_every_glyph(monkeypatch):
    pytest.importorskip("solara", reason="the app needs the viz extra")
    _needs_a_cjk_font()
    from loyaltysim.app import views
    from loyaltysim.app.factory import TeachingModel

    monkeypatch.setenv(LANG_ENV, "zh")
    model = TeachingModel(config_path=str(CONFIGS / "service_failure.yaml"), n_customers=300).run(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for name in views.VIEW_CLASSES:
            views.view_png(model, name)
    assert [str(w.message) for w in caught if "Glyph" in str(w.message)] == []


def test_config_still_loads_without_a_language(monkeypatch):
    monkeypatch.delenv(LANG_ENV, raising=False)
    assert load_config(CONFIGS / "baseline.yaml").customers.n == 2000
