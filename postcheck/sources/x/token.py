"""The `token` the X embed (syndication) endpoint expects, derived from the tweet id.

react-tweet computes it in JavaScript as
    ((Number(id) / 1e15) * Math.PI).toString(36).replace(/(0+|\\.)/g, '')
so a Python port must reproduce JavaScript's radix-36 formatting of a double exactly.
This follows V8's DoubleToRadixCString (the shortest digits that round-trip).
"""

from __future__ import annotations

import math
import re

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def js_number_to_radix(value: float, radix: int) -> str:
    """Number.prototype.toString(radix) for finite doubles, as V8 prints it."""
    if not math.isfinite(value):
        raise ValueError("only finite numbers")
    negative = value < 0
    value = -value if negative else value
    integer = math.floor(value)
    fraction = value - integer
    # Only as many fractional digits as the double's precision warrants.
    delta = max(0.5 * (math.nextafter(value, math.inf) - value), math.nextafter(0.0, 1.0))
    frac_digits: list[int] = []
    if fraction >= delta:
        while True:
            fraction *= radix
            delta *= radix
            digit = int(fraction)
            frac_digits.append(digit)
            fraction -= digit
            if (fraction > 0.5 or (fraction == 0.5 and (digit & 1))) and fraction + delta > 1:
                # Round up, carrying through the digits already written.
                while True:
                    if not frac_digits:
                        integer += 1
                        break
                    last = frac_digits.pop()
                    if last + 1 < radix:
                        frac_digits.append(last + 1)
                        break
                break
            if fraction < delta:
                break
    int_digits = []
    integer = int(integer)
    while True:
        integer, rem = divmod(integer, radix)
        int_digits.append(_DIGITS[rem])
        if integer == 0:
            break
    text = "".join(reversed(int_digits))
    if frac_digits:
        text += "." + "".join(_DIGITS[d] for d in frac_digits)
    return "-" + text if negative else text


def syndication_token(tweet_id: str | int) -> str:
    value = (float(int(tweet_id)) / 1e15) * math.pi
    return re.sub(r"(0+|\.)", "", js_number_to_radix(value, 36))
