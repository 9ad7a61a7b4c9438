"""Product analytics on bitmaps: the shared reader and the questions built on it.

Every question (retention tables, date ranges and rolling active users, and the 3.x cohort
tables in `bitmapist.cohort`) reads each stored bitmap once through `BitmapReader` and the
Store contract, then evaluates in memory on roaring bitmaps:

- `reader`: fetch each distinct stored key once, evaluate expression trees locally;
- `timeline`: period kinds, floors, shifts and labels in the client's time zone;
- `specs`: event specs (names, expressions, custom handlers) -> period expressions;
- `counting`: intersection counts shared by cohort and retention tables;
- `rendering`: Jinja2 HTML with autoescaping;
- `retention`, `ranges`: the questions themselves (re-exported from `bitmapist`).
"""
