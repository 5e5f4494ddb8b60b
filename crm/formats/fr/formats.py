"""French dates: "4 déc. 2026", "4 déc. 2026 14:05" (the month abbreviated as the French
typographic rule has it: "déc.", "mai", "juin", "juil.")."""

DATE_FORMAT = "j N Y"
SHORT_DATE_FORMAT = "j N Y"
DATETIME_FORMAT = "j N Y H:i"
SHORT_DATETIME_FORMAT = "j N Y H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j N"
YEAR_MONTH_FORMAT = "F Y"
