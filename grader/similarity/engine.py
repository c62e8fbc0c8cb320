"""Pairwise similarity of graded code, calibrated against the class.

1. Each unit's token stream (``normalize``) is cut into k-grams, hashed and winnowed (Schleimer,
   Wilkerson and Aiken, "Winnowing", SIGMOD 2003: keep the minimum hash of every window of w
   consecutive k-gram hashes), so any match of at least w + k - 1 tokens is found.
2. Hashes the template (the released stub) produces are removed: starter code is never shared.
3. A hash shared by many students says little: it is weighted ln(1 + N / df), the fewer students
   have it the heavier.
4. Per unit, a pair's similarity is the weighted Jaccard index of its two hash sets; the class
   baseline of that unit is the median over pairs (most pairs are independent work). A pair's
   excess on a unit is how far it is above that baseline, scaled to [0, 1]; units everyone
   writes the same way (baseline near 1) therefore cannot raise a flag.
5. The pair's score is the excess averaged over units, weighted by each unit's typical size in
   the class (the median weight of its hashes). Pairs at or above ``threshold`` are flagged.
6. A partial copy (one function copied, the others written independently) drowns in that
   average, so a pair is also flagged when any substantial unit is copied on its own: at least
   ``UNIT_MIN_TOKENS`` tokens of it, on both sides, are covered by shared fragments, and its
   excess is at least ``UNIT_EXCESS`` (``UNIT_EXCESS_LONG`` from ``UNIT_LONG_TOKENS`` covered
   tokens on). Such units are the pair's evidence (``copied_units``). Flagged pairs that share
   students form clusters.

For large classes, candidate pairs come from an inverted index of rare hashes instead of all
pairs; the baselines come from a random sample of pairs.
"""

from __future__ import annotations

import math
import random
import statistics
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from grader.similarity.normalize import NormalizedModule, Token, normalize, template_names

K = 7                  # tokens per k-gram
WINDOW = 4             # winnowing window (k-grams)
# Default flag threshold on the calibrated score. On the corpus of independent solutions
# (benchmarks/similarity_corpus.py) independent pairs reach 0.31 at most (a1, where the stub
# prescribes one design of Value) and disguised copies score 0.69 or more.
THRESHOLD = 0.4
EXACT_LIMIT = 150      # up to this many submissions every pair is scored
SAMPLE_PAIRS = 3000    # pairs sampled for the baselines of a larger class
MIN_SHARED_RARE = 4    # rare hashes a candidate pair must share
# One copied function flags a pair. On the corpus (tests/similarity_corpus, reference plus three
# independent solutions per assignment) independent units reach 1.0 excess only below 30 covered
# tokens (one-liners everyone writes alike), and 0.77 at most above 40; transplanted functions of
# 50 tokens or more reach 0.85 or more (benchmarks/similarity_corpus.py prints both).
UNIT_MIN_TOKENS = 40
UNIT_EXCESS = 0.85
UNIT_LONG_TOKENS = 80
UNIT_EXCESS_LONG = 0.6
MOD = (1 << 61) - 1


@dataclass(frozen=True)
class CodeEntry:
    """One submission's graded code."""

    student: str
    source: str


@dataclass
class Fingerprints:
    """Winnowed hashes of one unit and the token positions each hash starts at."""

    tokens: list[Token]
    positions: dict[int, list[int]]


@dataclass
class Prepared:
    student: str
    normalized: NormalizedModule
    units: dict[str, Fingerprints]
    all_hashes: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class UnitScore:
    unit: str
    similarity: float   # weighted Jaccard of the pair's hashes of this unit
    baseline: float     # the class median of that similarity
    excess: float       # (similarity - baseline) / (1 - baseline), clipped to [0, 1]
    weight: float       # the unit's typical information in the class
    shared_tokens: int = 0  # tokens covered by shared fragments, the smaller of the two sides

    @property
    def copied(self) -> bool:
        """Substantial and far above the class: copied on its own (rule 6 above)."""
        if self.shared_tokens < UNIT_MIN_TOKENS:
            return False
        limit = UNIT_EXCESS_LONG if self.shared_tokens >= UNIT_LONG_TOKENS else UNIT_EXCESS
        return self.excess >= limit


@dataclass
class PairResult:
    a: str
    b: str
    score: float
    module_similarity: float
    units: list[UnitScore]
    flagged: bool = False

    @property
    def copied_units(self) -> list[str]:
        """Units copied on their own, the strongest evidence first."""
        return [u.unit for u in sorted(self.units, key=lambda u: (-u.excess, u.unit))
                if u.copied]


@dataclass
class SimilarityReport:
    assignment: str
    students: list[str]
    threshold: float
    pairs: list[PairResult]              # flagged first, then highest score first
    clusters: list[list[str]]            # groups of >= 2 students joined by flagged pairs
    baselines: dict[str, float]
    exact: bool                          # every pair scored (else candidates from an index)
    seconds: float
    prepared: dict[str, Prepared] = field(repr=False, default_factory=dict)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (student, why)

    @property
    def flagged(self) -> list[PairResult]:
        return [p for p in self.pairs if p.flagged]


def _kgram_hashes(tokens: list[Token], vocab: dict[str, int]) -> list[int]:
    ids = [vocab.setdefault(t.text, zlib.crc32(t.text.encode()) | 1) for t in tokens]
    if len(ids) < K:
        return []
    base = 1_000_003
    top = pow(base, K - 1, MOD)
    h = 0
    for i in range(K):
        h = (h * base + ids[i]) % MOD
    hashes = [h]
    for i in range(K, len(ids)):
        h = ((h - ids[i - K] * top) * base + ids[i]) % MOD
        hashes.append(h)
    return hashes


def winnow(hashes: list[int]) -> dict[int, list[int]]:
    """The minimum hash of every window (rightmost on ties), with the k-gram positions."""
    chosen: dict[int, list[int]] = defaultdict(list)
    if not hashes:
        return chosen
    if len(hashes) <= WINDOW:
        pos = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
        chosen[hashes[pos]].append(pos)
        return chosen
    last = -1
    for start in range(len(hashes) - WINDOW + 1):
        pos = min(range(start, start + WINDOW), key=lambda i: (hashes[i], -i))
        if pos != last:
            chosen[hashes[pos]].append(pos)
            last = pos
    return chosen


def prepare(entry: CodeEntry, units: set[str], template_hashes: set[int],
            vocab: dict[str, int]) -> Prepared:
    normalized = normalize(entry.source, units)
    prepared = Prepared(entry.student, normalized, {})
    for unit, tokens in normalized.units.items():
        positions = {h: p for h, p in winnow(_kgram_hashes(tokens, vocab)).items()
                     if h not in template_hashes}
        if positions:
            prepared.units[unit] = Fingerprints(tokens, positions)
            prepared.all_hashes.update(positions)
    return prepared


def _template_hashes(template: str, units: set[str], vocab: dict[str, int]) -> set[int]:
    """Every k-gram of the starter code (not only the winnowed ones)."""
    hashes: set[int] = set()
    for tokens in normalize(template, units).units.values():
        hashes.update(_kgram_hashes(tokens, vocab))
    return hashes


class _Weights:
    """ln(1 + N / df) per hash, df = how many submissions have it."""

    def __init__(self, prepared: list[Prepared]) -> None:
        n = len(prepared)
        df: dict[int, int] = defaultdict(int)
        for p in prepared:
            for h in p.all_hashes:
                df[h] += 1
        self.of = {h: math.log1p(n / count) for h, count in df.items()}
        self.totals: dict[int, float] = {}  # id(hash collection) -> its weight

    def total(self, hashes: set[int] | dict[int, list[int]]) -> float:
        key = id(hashes)
        found = self.totals.get(key)
        if found is None:
            of = self.of
            found = self.totals[key] = sum(of[h] for h in hashes)
        return found


def _jaccard(a: set[int] | dict, b: set[int] | dict, weights: _Weights) -> tuple[float, float]:
    """(weighted Jaccard, weight of the union)."""
    of = weights.of
    shared = sum(of[h] for h in (a.keys() & b.keys() if isinstance(a, dict) else a & b))
    union = weights.total(a) + weights.total(b) - shared
    return (shared / union if union > 0 else 0.0), union


def _unit_similarities(a: Prepared, b: Prepared, weights: _Weights) -> dict[str, tuple[float,
                                                                                       float]]:
    return {unit: _jaccard(a.units[unit].positions, b.units[unit].positions, weights)
            for unit in a.units.keys() & b.units.keys()}


def _candidates(prepared: list[Prepared]) -> list[tuple[int, int]]:
    """Pairs that share at least MIN_SHARED_RARE rare hashes (an inverted index), not all
    pairs: the cost follows the amount of shared rare code, not the square of the class."""
    n = len(prepared)
    rare_limit = max(2, min(50, n // 20))
    postings: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(prepared):
        for h in p.all_hashes:
            postings[h].append(i)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for members in postings.values():
        if 2 <= len(members) <= rare_limit:
            for pair in combinations(members, 2):
                shared[pair] += 1
    return [pair for pair, count in shared.items() if count >= MIN_SHARED_RARE]


def compare(assignment: str, entries: list[CodeEntry], template: str = "",
            threshold: float = THRESHOLD, seed: int = 0,
            exact_limit: int = EXACT_LIMIT) -> SimilarityReport:
    """Score the pairs of ``entries``; ``template`` is the released starter code. Classes
    larger than ``exact_limit`` are scored on index candidates instead of every pair."""
    started = time.monotonic()
    units = template_names(template)
    vocab: dict[str, int] = {}
    skip = _template_hashes(template, units, vocab)
    prepared, left_out = [], []
    for e in entries:
        try:  # a student's code that cannot be normalized leaves out that student alone
            prepared.append(prepare(e, units, skip, vocab))
        except (RecursionError, MemoryError, SyntaxError, ValueError) as exc:
            left_out.append((e.student, f"code could not be compared ({type(exc).__name__})"))
    entries = [e for e in entries if e.student in {p.student for p in prepared}]
    weights = _Weights(prepared)
    rng = random.Random(seed)
    n = len(prepared)
    exact = n <= exact_limit
    all_pairs = list(combinations(range(n), 2)) if exact else []
    sample = all_pairs if exact else [tuple(sorted(rng.sample(range(n), 2)))
                                      for _ in range(SAMPLE_PAIRS)]
    per_unit: dict[str, list[float]] = defaultdict(list)
    cached: dict[tuple[int, int], dict[str, tuple[float, float]]] = {}
    for i, j in sample:
        sims = cached[(i, j)] = _unit_similarities(prepared[i], prepared[j], weights)
        for unit, (sim, _) in sims.items():
            per_unit[unit].append(sim)
    baselines = {unit: min(1.0, statistics.median(values)) for unit, values in per_unit.items()}
    sizes = _unit_sizes(prepared, weights)
    pairs_to_score = all_pairs if exact else sorted(set(_candidates(prepared)))
    results = []
    for i, j in pairs_to_score:
        sims = cached.get((i, j)) or _unit_similarities(prepared[i], prepared[j], weights)
        results.append(_score_pair(prepared[i], prepared[j], sims, baselines, sizes, weights))
    for r in results:
        r.flagged = r.score >= threshold or bool(r.copied_units)
    results.sort(key=lambda r: (not r.flagged, -r.score, r.a, r.b))
    return SimilarityReport(assignment, [e.student for e in entries], threshold, results,
                            _clusters([r for r in results if r.flagged]), baselines, exact,
                            time.monotonic() - started, {p.student: p for p in prepared},
                            left_out)


def _unit_sizes(prepared: list[Prepared], weights: _Weights) -> dict[str, float]:
    """A unit's typical information: the class median of its hashes' weight. Pair-independent,
    so a function one side rewrote at length does not outweigh the rest."""
    sizes: dict[str, list[float]] = defaultdict(list)
    for p in prepared:
        for unit, fp in p.units.items():
            sizes[unit].append(weights.total(fp.positions))
    return {unit: statistics.median(values) for unit, values in sizes.items()}


def _score_pair(a: Prepared, b: Prepared, sims: dict[str, tuple[float, float]],
                baselines: dict[str, float], sizes: dict[str, float],
                weights: _Weights) -> PairResult:
    units = []
    for unit, (sim, _) in sorted(sims.items()):
        base = baselines.get(unit, 0.0)
        excess = 0.0 if base >= 1.0 else min(1.0, max(0.0, (sim - base) / (1.0 - base)))
        # Coverage is only needed where the excess could make the unit evidence on its own.
        shared = _shared_tokens(a.units[unit], b.units[unit]) \
            if excess >= UNIT_EXCESS_LONG else 0
        units.append(UnitScore(unit, sim, base, excess, sizes.get(unit, 0.0), shared))
    total = sum(u.weight for u in units)
    score = sum(u.weight * u.excess for u in units) / total if total > 0 else 0.0
    module, _ = _jaccard(a.all_hashes, b.all_hashes, weights)
    x, y = sorted((a.student, b.student))
    return PairResult(x, y, round(score, 6), round(module, 6), units)


def _covered(fp: Fingerprints, hashes: set[int]) -> set[int]:
    """Token positions of ``fp`` inside a k-gram whose hash is in ``hashes``."""
    covered: set[int] = set()
    for h in hashes:
        for start in fp.positions[h]:
            covered.update(range(start, min(start + K, len(fp.tokens))))
    return covered


def _shared_tokens(a: Fingerprints, b: Fingerprints) -> int:
    shared = a.positions.keys() & b.positions.keys()
    return min(len(_covered(a, shared)), len(_covered(b, shared)))


def _clusters(flagged: list[PairResult]) -> list[list[str]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in flagged:
        parent[find(pair.a)] = find(pair.b)
    groups: dict[str, list[str]] = defaultdict(list)
    for student in parent:
        groups[find(student)].append(student)
    return sorted((sorted(g) for g in groups.values() if len(g) >= 2), key=lambda g: (-len(g), g))


def matched_lines(report: SimilarityReport, pair: PairResult) -> tuple[set[int], set[int]]:
    """Source lines of ``pair.a`` and ``pair.b`` covered by the hashes they share."""
    a, b = report.prepared[pair.a], report.prepared[pair.b]
    lines_a: set[int] = set()
    lines_b: set[int] = set()
    for unit in a.units.keys() & b.units.keys():
        fa, fb = a.units[unit], b.units[unit]
        for h in fa.positions.keys() & fb.positions.keys():
            for fp, lines in ((fa, lines_a), (fb, lines_b)):
                for start in fp.positions[h]:
                    lines.update(t.line for t in fp.tokens[start:start + K] if t.line > 0)
    return lines_a, lines_b
