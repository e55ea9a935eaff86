"""The weekdays a report's opening names: two reports of one event name its day.

A news lede says when its event happened ("the Senate on Tuesday voted"). Two outlets telling
one event name the same day; two reports of neighbouring events on one topic (the same
actors, another vote) name other days. That holds in any language and needs no publish date,
which the text's own words often stand in for. Only the opening is read: further down, a
full article names the days of its background too.

Day names are listed for the languages the story model is measured on, in their common forms
(Polish and Russian also in the cases "on Wednesday" takes: "w środę", "в среду"). Turkish
"pazar" (Sunday) is left out: it also means market.
"""

from __future__ import annotations

import re
import unicodedata

OPENING_CHARS = 300  # of the text, after the title: the lede's first sentences

_NAMES = (
    "monday montag lundi lunes lunedì lunedi poniedziałek poniedziałku понедельник понедельника "
    "pazartesi الاثنين الإثنين 星期一 周一 週一 礼拜一",
    "tuesday dienstag mardi martes martedì martedi wtorek wtorku вторник вторника salı الثلاثاء "
    "星期二 周二 週二 礼拜二",
    "wednesday mittwoch mercredi miércoles mercoledì mercoledi środa środę środy środzie среду среды "
    "çarşamba الأربعاء الاربعاء 星期三 周三 週三 礼拜三",
    "thursday donnerstag jeudi jueves giovedì giovedi czwartek czwartku четверг четверга perşembe "
    "الخميس 星期四 周四 週四 礼拜四",
    "friday freitag vendredi viernes venerdì venerdi piątek piątku пятница пятницу пятницы cuma "
    "الجمعة 星期五 周五 週五 礼拜五",
    "saturday samstag sonnabend samedi sábado sabato sobota sobotę soboty sobocie суббота субботу "
    "субботы cumartesi السبت 星期六 周六 週六 礼拜六",
    "sunday sonntag dimanche domingo domenica niedziela niedzielę niedzieli воскресенье воскресенья "
    "الأحد الاحد 星期日 星期天 周日 週日 礼拜天",
)  # fmt: skip
_DAY = {unicodedata.normalize("NFC", word): day for day, line in enumerate(_NAMES) for word in line.split()}
_HAN = re.compile(r"[\u4e00-\u9fff]")
# Whole words where words are spaced; Chinese day names stand among other characters.
_SPACED = sorted((w for w in _DAY if not _HAN.match(w)), key=len, reverse=True)
_UNSPACED = [w for w in _DAY if _HAN.match(w)]
_DAY_RE = re.compile(
    r"(?<!\w)(?:" + "|".join(map(re.escape, _SPACED)) + r")(?!\w)|" + "|".join(map(re.escape, _UNSPACED))
)


def named_weekdays(title: str, text: str) -> tuple[int, ...]:
    """The days (0 Monday ... 6 Sunday) the title and the text's opening name, in order."""
    opening = unicodedata.normalize("NFC", f"{title}\n{text[:OPENING_CHARS]}").casefold()
    return tuple(sorted({_DAY[m.group(0)] for m in _DAY_RE.finditer(opening)}))
