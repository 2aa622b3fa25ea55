"""Translations of what students and teachers read: the app, preset texts, figures, run summaries, config errors.

The language is English unless ``LOYALTYSIM_LANG`` (or ``loyaltysim app --lang``) asks
for another one that has a catalogue; Simplified Chinese (``zh``) is the one shipped.
Messages live in standard gettext catalogues: the source
``locale/zh/LC_MESSAGES/loyaltysim.po`` and its compiled ``.mo`` beside it, both
committed (``make translations`` re-extracts and recompiles them with Babel; a test
fails when a message has no translation or the ``.mo`` is out of date).

Mark a message with :func:`_` where it is shown and with :func:`N_` where it is only
defined (a module-level constant), then translate it with :func:`_` when shown.
This package sits below every other layer: it imports nothing from loyaltysim.
"""

from __future__ import annotations

import functools
import gettext
import os
from pathlib import Path

__all__ = ["DOMAIN", "LANGUAGES", "LANG_ENV", "LOCALE_DIR", "N_", "_", "language", "translation"]

DOMAIN = "loyaltysim"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANG_ENV = "LOYALTYSIM_LANG"
LANGUAGES = {"en": "English", "zh": "简体中文"}
"""The languages offered: code → name in that language."""

_ALIASES = {"zh_cn": "zh", "zh-cn": "zh", "zh_hans": "zh", "zh-hans": "zh", "cn": "zh", "chinese": "zh", "english": "en"}


def language(code: str | None = None) -> str:
    """The language in use: ``code`` if given, else ``LOYALTYSIM_LANG``; English for anything not offered."""
    text = (code if code is not None else os.environ.get(LANG_ENV, "")).strip().lower()
    text = text.split(".")[0]
    text = _ALIASES.get(text, text)
    return text if text in LANGUAGES else "en"


@functools.cache
def translation(code: str) -> gettext.NullTranslations:
    """The catalogue of language ``code`` (English: messages as written)."""
    if code == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[code])


def _(message: str) -> str:
    """``message`` in the current language (see :func:`language`)."""
    return translation(language()).gettext(message)


def N_(message: str) -> str:
    """Mark ``message`` for translation without translating it (translate it with :func:`_` when shown)."""
    return message
