"""Simple Python problems, generated, with reference solutions and tests.

Benign CodeAct demonstrations need tasks whose answers can be checked. HumanEval is the
benign *test* set and must never be trained on, and no installable package ships MBPP,
so the problems are generated here: families of small functions (sums, counts, string
edits, list transforms, number bases), each family made concrete by constants that
change both the behaviour and the function's name. Every problem has a reference
solution, and tests whose expected values the reference computes; the tests are written
in HumanEval's form (``def check(candidate): assert ...``) so that the HumanEval scorer
runs them in the sandbox.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CodeProblem:
    """One generated problem."""

    entry_point: str
    signature: str
    """``def name(args) -> type:``"""
    description: str
    """What the function must do, one or two sentences."""
    solution: str
    """The reference implementation: the body, indented by four spaces."""
    cases: tuple[tuple[Any, ...], ...]
    """Argument tuples the tests call the function with."""

    @property
    def stub(self) -> str:
        """Signature and docstring, HumanEval's ``prompt`` form (ends with a newline)."""
        examples = "\n".join(
            f"    >>> {self.entry_point}({_args(c)})\n    {self.expected(c)!r}"
            for c in self.cases[:2]
        )
        return f'{self.signature}\n    """{self.description}\n{examples}\n    """\n'

    @property
    def code(self) -> str:
        """The complete reference function."""
        return f"{self.signature}\n{self.solution}"

    def expected(self, args: tuple[Any, ...]) -> Any:
        """The reference's answer for ``args``."""
        return self.function()(*args)

    def function(self) -> Callable[..., Any]:
        """The reference function (our own code, run on the host to compute test values)."""
        namespace: dict[str, Any] = {}
        exec(self.code, namespace)  # noqa: S102 (the package's own reference code)
        return namespace[self.entry_point]

    @property
    def test(self) -> str:
        """HumanEval-style tests: ``check(candidate)`` asserting every case."""
        function = self.function()
        lines = [f"    assert candidate({_args(c)}) == {function(*c)!r}" for c in self.cases]
        return "def check(candidate):\n" + "\n".join(lines) + "\n"


def _args(case: tuple[Any, ...]) -> str:
    return ", ".join(repr(a) for a in case)


Family = Callable[[random.Random], Iterator[CodeProblem]]
_FAMILIES: list[Family] = []


def family(fn: Family) -> Family:
    """Register a problem family."""
    _FAMILIES.append(fn)
    return fn


def _ints(rng: random.Random, n: int, low: int = -20, high: int = 50) -> list[int]:
    return [rng.randint(low, high) for _ in range(n)]


_WORDS = ("apple banana cherry delta echo forest garden harbor island jungle kettle lemon "
          "meadow night ocean pepper quartz river summer tiger umbrella valley window yellow "
          "zebra anchor breeze candle dragon ember falcon glacier").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


@family
def _sum_multiples(rng: random.Random) -> Iterator[CodeProblem]:
    for k in range(2, 10):
        yield CodeProblem(
            f"sum_multiples_of_{k}", f"def sum_multiples_of_{k}(limit: int) -> int:",
            f"Return the sum of the positive integers below limit that are divisible by {k}.",
            f"    return sum(n for n in range(1, limit) if n % {k} == 0)",
            tuple((rng.randint(0, 200),) for _ in range(4)) + ((k,), (k + 1,)),
        )


@family
def _count_letter(rng: random.Random) -> Iterator[CodeProblem]:
    for letter in "aeiorst":
        yield CodeProblem(
            f"count_letter_{letter}", f"def count_letter_{letter}(text: str) -> int:",
            f"Return how many times the letter '{letter}' appears in text, ignoring case.",
            f"    return text.lower().count({letter!r})",
            tuple((_sentence(rng, rng.randint(1, 6)).title(),) for _ in range(4)) + (("",),),
        )


@family
def _raise_each(rng: random.Random) -> Iterator[CodeProblem]:
    for p in range(2, 6):
        yield CodeProblem(
            f"raise_each_to_{p}", f"def raise_each_to_{p}(numbers: list) -> list:",
            f"Return a new list with every number raised to the power {p}.",
            f"    return [x ** {p} for x in numbers]",
            tuple((_ints(rng, rng.randint(0, 5), -5, 9),) for _ in range(4)),
        )


@family
def _clamp(rng: random.Random) -> Iterator[CodeProblem]:
    for low, high in ((0, 10), (-5, 5), (1, 100), (10, 20), (0, 1), (-10, 0)):
        name = f"clamp_between_{_num(low)}_and_{_num(high)}"
        yield CodeProblem(
            name, f"def {name}(numbers: list) -> list:",
            f"Return the numbers with each one limited to the range {low} to {high}: smaller "
            f"values become {low}, larger ones {high}.",
            f"    return [min(max(x, {low}), {high}) for x in numbers]",
            tuple((_ints(rng, rng.randint(1, 6), -30, 120),) for _ in range(4)),
        )


def _num(n: int) -> str:
    return f"minus_{-n}" if n < 0 else str(n)


@family
def _keep_greater(rng: random.Random) -> Iterator[CodeProblem]:
    for k in (0, 3, 7, 10, 25, -4):
        name = f"keep_greater_than_{_num(k)}"
        yield CodeProblem(
            name, f"def {name}(numbers: list) -> list:",
            f"Return the numbers that are strictly greater than {k}, in their original order.",
            f"    return [x for x in numbers if x > {k}]",
            tuple((_ints(rng, rng.randint(0, 7), -20, 40),) for _ in range(4)),
        )


@family
def _every_kth(rng: random.Random) -> Iterator[CodeProblem]:
    for k in range(2, 6):
        yield CodeProblem(
            f"every_{_ordinal(k)}_item", f"def every_{_ordinal(k)}_item(items: list) -> list:",
            f"Return every {_ordinal(k)} item of the list, starting with the first one.",
            f"    return items[::{k}]",
            tuple((_ints(rng, rng.randint(0, 12), 0, 9),) for _ in range(4)),
        )


def _ordinal(k: int) -> str:
    return {2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth"}[k]


@family
def _rotate(rng: random.Random) -> Iterator[CodeProblem]:
    for k in range(1, 5):
        yield CodeProblem(
            f"rotate_left_by_{k}", f"def rotate_left_by_{k}(items: list) -> list:",
            f"Return the list rotated {k} place{'s' if k > 1 else ''} to the left (the first "
            f"items move to the end); rotating an empty list gives an empty list.",
            f"    if not items:\n        return []\n    shift = {k} % len(items)\n"
            "    return items[shift:] + items[:shift]",
            tuple((_ints(rng, rng.randint(0, 7), 0, 9),) for _ in range(4)),
        )


@family
def _to_base(rng: random.Random) -> Iterator[CodeProblem]:
    for base in range(2, 10):
        if base == 10:
            continue
        yield CodeProblem(
            f"to_base_{base}_string", f"def to_base_{base}_string(n: int) -> str:",
            f"Return the base-{base} digits of the non-negative integer n as a string.",
            f"    if n == 0:\n        return '0'\n    digits = ''\n    while n:\n"
            f"        digits = str(n % {base}) + digits\n        n //= {base}\n    return digits",
            tuple((rng.randint(0, 500),) for _ in range(4)) + ((0,),),
        )


@family
def _digit_sum_power(rng: random.Random) -> Iterator[CodeProblem]:
    for p in (1, 2, 3):
        name = {1: "digit_sum", 2: "sum_of_squared_digits", 3: "sum_of_cubed_digits"}[p]
        yield CodeProblem(
            name, f"def {name}(n: int) -> int:",
            "Return the sum of the decimal digits of abs(n)"
            + ("" if p == 1 else f", each raised to the power {p}") + ".",
            f"    return sum(int(d) ** {p} for d in str(abs(n)))",
            tuple((rng.randint(-999, 99999),) for _ in range(5)),
        )


@family
def _words_longer(rng: random.Random) -> Iterator[CodeProblem]:
    for k in range(3, 7):
        yield CodeProblem(
            f"count_words_longer_than_{k}", f"def count_words_longer_than_{k}(text: str) -> int:",
            f"Return how many space-separated words in text have more than {k} letters.",
            f"    return sum(1 for word in text.split() if len(word) > {k})",
            tuple((_sentence(rng, rng.randint(0, 7)),) for _ in range(4)),
        )


@family
def _pad(rng: random.Random) -> Iterator[CodeProblem]:
    for width, fill in ((5, "0"), (8, "*"), (6, "-"), (10, "."), (4, "#")):
        name = f"pad_left_to_{width}_with_{_fill_name(fill)}"
        yield CodeProblem(
            name, f"def {name}(text: str) -> str:",
            f"Return text padded on the left with '{fill}' to a length of {width}; "
            "longer texts are returned unchanged.",
            f"    return text.rjust({width}, {fill!r})",
            tuple((rng.choice(_WORDS)[: rng.randint(0, 9)],) for _ in range(4)),
        )


def _fill_name(fill: str) -> str:
    return {"0": "zeros", "*": "stars", "-": "dashes", ".": "dots", "#": "hashes"}[fill]


@family
def _running(rng: random.Random) -> Iterator[CodeProblem]:
    ops = {
        "running_total": ("the running total: element i is the sum of the first i+1 numbers",
                          "    out, total = [], 0\n    for x in numbers:\n        total += x\n"
                          "        out.append(total)\n    return out"),
        "running_maximum": ("the running maximum: element i is the largest of the first i+1 "
                            "numbers",
                            "    out = []\n    for x in numbers:\n"
                            "        out.append(x if not out else max(out[-1], x))\n"
                            "    return out"),
        "pairwise_differences": ("the differences between neighbours: element i is "
                                 "numbers[i+1] - numbers[i]",
                                 "    return [b - a for a, b in zip(numbers, numbers[1:])]"),
        "pairwise_sums": ("the sums of neighbours: element i is numbers[i] + numbers[i+1]",
                          "    return [a + b for a, b in zip(numbers, numbers[1:])]"),
    }
    for name, (what, body) in ops.items():
        yield CodeProblem(
            name, f"def {name}(numbers: list) -> list:", f"Return {what}.", body,
            tuple((_ints(rng, rng.randint(0, 7)),) for _ in range(4)),
        )


@family
def _replace_char(rng: random.Random) -> Iterator[CodeProblem]:
    for old, new in (("a", "4"), ("e", "3"), ("o", "0"), (" ", "_"), ("s", "z")):
        name = f"replace_{_char_name(old)}_with_{_char_name(new)}"
        yield CodeProblem(
            name, f"def {name}(text: str) -> str:",
            f"Return text with every {old!r} replaced by {new!r}.",
            f"    return text.replace({old!r}, {new!r})",
            tuple((_sentence(rng, rng.randint(1, 5)),) for _ in range(4)),
        )


def _char_name(c: str) -> str:
    return {" ": "spaces", "_": "underscores"}.get(c, f"digit_{c}" if c.isdigit() else c)


@family
def _top_k_mean(rng: random.Random) -> Iterator[CodeProblem]:
    for k in (2, 3, 4):
        yield CodeProblem(
            f"mean_of_top_{k}", f"def mean_of_top_{k}(numbers: list) -> float:",
            f"Return the mean of the {k} largest numbers (of all of them when there are fewer "
            f"than {k}), rounded to 2 decimals; return 0.0 for an empty list.",
            f"    top = sorted(numbers, reverse=True)[:{k}]\n"
            "    return round(sum(top) / len(top), 2) if top else 0.0",
            tuple((_ints(rng, rng.randint(0, 6)),) for _ in range(4)) + (([],),),
        )


@family
def _chunks(rng: random.Random) -> Iterator[CodeProblem]:
    for k in (2, 3, 4):
        yield CodeProblem(
            f"chunks_of_{k}", f"def chunks_of_{k}(items: list) -> list:",
            f"Split the list into consecutive chunks of {k} items (the last may be shorter) "
            "and return the list of chunks.",
            f"    return [items[i:i + {k}] for i in range(0, len(items), {k})]",
            tuple((_ints(rng, rng.randint(0, 9), 0, 9),) for _ in range(4)),
        )


@family
def _divisible_count(rng: random.Random) -> Iterator[CodeProblem]:
    for a, b in ((2, 3), (3, 5), (4, 6), (2, 7), (5, 7)):
        name = f"count_divisible_by_{a}_and_{b}"
        yield CodeProblem(
            name, f"def {name}(numbers: list) -> int:",
            f"Return how many of the numbers are divisible by both {a} and {b}.",
            f"    return sum(1 for x in numbers if x % {a} == 0 and x % {b} == 0)",
            tuple((_ints(rng, rng.randint(0, 8), 0, 90),) for _ in range(4)),
        )


@family
def _linear_convert(rng: random.Random) -> Iterator[CodeProblem]:
    conversions = (
        ("kilometres_to_miles", "kilometres to miles (1 km = 0.621371 miles)", "x * 0.621371"),
        ("miles_to_kilometres", "miles to kilometres (1 mile = 1.609344 km)", "x * 1.609344"),
        ("kilograms_to_pounds", "kilograms to pounds (1 kg = 2.204623 lb)", "x * 2.204623"),
        ("litres_to_gallons", "litres to US gallons (1 l = 0.264172 gal)", "x * 0.264172"),
        ("fahrenheit_to_celsius", "degrees Fahrenheit to Celsius", "(x - 32) * 5 / 9"),
        ("hours_to_seconds", "hours to seconds", "x * 3600"),
    )
    for name, what, formula in conversions:
        yield CodeProblem(
            name, f"def {name}(x: float) -> float:",
            f"Convert x from {what} and return the result rounded to 2 decimals.",
            f"    return round({formula}, 2)",
            tuple((rng.choice([0, 1, 2.5, 10, 42, 100, 212, 37.5]),) for _ in range(4)),
        )


@family
def _word_ops(rng: random.Random) -> Iterator[CodeProblem]:
    ops = {
        "capitalize_each_word": ("every word capitalised (first letter upper case, the rest "
                                 "lower case), words separated by single spaces",
                                 "    return ' '.join(w.capitalize() for w in text.split())"),
        "reverse_word_order": ("its words in reverse order, separated by single spaces",
                               "    return ' '.join(reversed(text.split()))"),
        "longest_word": ("its longest word (the first one when several are as long); an empty "
                         "string when there is none",
                         "    return max(text.split(), key=len, default='')"),
        "initials": ("the upper-case first letters of its words, joined without spaces",
                     "    return ''.join(w[0].upper() for w in text.split())"),
        "reverse_each_word": ("each word spelled backwards, words kept in order and separated "
                              "by single spaces",
                              "    return ' '.join(w[::-1] for w in text.split())"),
    }
    for name, (what, body) in ops.items():
        yield CodeProblem(
            name, f"def {name}(text: str) -> str:", f"Return text with {what}."
            if name.startswith(("capitalize", "reverse")) else f"Return {what} of text.",
            body, tuple((_sentence(rng, rng.randint(0, 5)),) for _ in range(4)),
        )


@family
def _sequence_terms(rng: random.Random) -> Iterator[CodeProblem]:
    for start, step in ((1, 3), (5, 4), (2, 7), (10, -2), (0, 6)):
        name = f"arithmetic_terms_from_{_num(start)}_step_{_num(step)}"
        yield CodeProblem(
            name, f"def {name}(count: int) -> list:",
            f"Return the first count terms of the arithmetic sequence that starts at {start} "
            f"and changes by {step} at each term.",
            f"    return [{start} + {step} * i for i in range(count)]",
            tuple((rng.randint(0, 8),) for _ in range(4)),
        )


@family
def _dict_ops(rng: random.Random) -> Iterator[CodeProblem]:
    ops = {
        "letter_frequencies": ("a dictionary from each letter of text (lower-cased; other "
                               "characters ignored) to how often it appears",
                               "    counts = {}\n    for c in text.lower():\n"
                               "        if c.isalpha():\n            counts[c] = counts.get(c, 0) "
                               "+ 1\n    return counts"),
        "word_lengths": ("a dictionary from each distinct word of text to its length",
                         "    return {w: len(w) for w in text.split()}"),
        "first_letter_groups": ("a dictionary from each first letter to the list of the words "
                                "of text that start with it, in order",
                                "    groups = {}\n    for w in text.split():\n"
                                "        groups.setdefault(w[0], []).append(w)\n"
                                "    return groups"),
    }
    for name, (what, body) in ops.items():
        yield CodeProblem(
            name, f"def {name}(text: str) -> dict:", f"Return {what}.", body,
            tuple((_sentence(rng, rng.randint(0, 4)),) for _ in range(4)),
        )


@family
def _index_of(rng: random.Random) -> Iterator[CodeProblem]:
    for k in (0, 1, 5, 9):
        name = f"positions_of_{k}"
        yield CodeProblem(
            name, f"def {name}(numbers: list) -> list:",
            f"Return the indices at which the value {k} appears in numbers.",
            f"    return [i for i, x in enumerate(numbers) if x == {k}]",
            tuple((_ints(rng, rng.randint(0, 10), 0, 9),) for _ in range(4)),
        )


def generate_problems(seed: int = 0) -> list[CodeProblem]:
    """Every problem of every family (102), test inputs drawn with ``seed``."""
    rng = random.Random(seed)
    problems = list(itertools.chain.from_iterable(f(rng) for f in _FAMILIES))
    names = [p.entry_point for p in problems]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise AssertionError(f"duplicate problem names: {sorted(duplicates)}")
    return problems
