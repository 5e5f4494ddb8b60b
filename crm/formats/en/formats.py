"""English dates: "4 Dec 2026", "4 Dec 2026, 14:05" (day first, month abbreviated: no
ambiguity between 12/04 and 04/12, as a team may mix British and American readers)."""

DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "F Y"
