"""Prose that states results: a checker for the chapters' markdown.

The project's rule: **prose never states an outcome that a rerun can change.**
Numbers, rankings and verdicts about our results are printed by code from the
results; markdown gives the question, the method and how to read a figure.
Markdown may hold settings and facts of method or data format ("16 frames of
32x32", "T = 4", "alpha = 0.5") and the poster's own published numbers,
attributed to it ("the poster reports 90.1 %"), but not measured outcomes of
our runs ("our teacher scores 97 %", "accuracy barely moves", "int8 is
faster").

:func:`result_statements` returns the sentences of a markdown text that look
like result statements, by two rules:

* **a measured number**: a percentage, a number of points, a size or a time
  ("97.5 %", "+3 points", "71.8 MB", "5.3 ms"), unless it is attributed (the
  poster, the paper, Pigou, Neverova, Hinton, the real or published data: in
  the same clause, as a possessive just before the number, or after "the
  poster reports/says/claims" in a clause that is not about us), or stated as
  a definition, threshold or condition ("when", "if", "whether", "at least",
  "must", "is the share of", "prints"), or hypothetical ("would", "should"),
  or a setting of the method ("from 10 % to 90 % of its interval", "prune
  80 %", "the 78 % sparsity", "chance (5 %)"), or part of an exercise's
  instruction ("Store ...", "Compute ...");
* **an outcome phrase**: a ranking ("beats", "outperforms", "wins", "better
  than"), a speed verdict ("is faster", "slower than"), an effect ("helps",
  "hurts", "improves", "no accuracy drop", "costs little", "barely moves",
  "keeps most of", "end larger", "recovers most", "falls to chance", "lands
  on the poster's", "disagree with") or a claim's verdict ("the claim does
  not hold"), unless it is in a question, under a conditional or definition
  ("if", "when", "whether", "holds when", "at least"), hypothetical ("would",
  "could", "might"), or attributed to the poster ("the poster's claim is
  that the joint model beats ..."; not for "lands on the poster's", which
  names the poster but states our outcome). Verdict *labels* in emphasis
  (*holds*, *partly*, *does not hold*) are names, not verdicts, and are
  ignored.

Sentences are split per paragraph, heading, list item and table row; fenced
code and display math are skipped, inline code is neutralised. Clauses (split
at , ; : parentheses, dashes, "and", "but") scope the exemptions, so "With our
training, the claim does not hold, and it could not hold ..." is flagged.

A sentence that the rules misread can carry the opt-out marker
:data:`OPT_OUT` (an HTML comment, invisible when rendered); keep it rare.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

#: Put this HTML comment in a sentence to exempt it from the checker (rarely: rephrase first).
OPT_OUT = "<!-- prose: method -->"

# --------------------------------------------------------------------------- splitting into sentences

_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "vs.", "cf.", "etc.", "Fig.", "approx.", "resp.")
_DOT = "\u2024"  # one-dot leader: stands in for the dots of abbreviations while splitting
_SENTENCE_END = re.compile(r"(?<=[.!?])[*_)\]\"']*\s+(?=[A-Za-z0-9\"'(*_\[$`\u201c])")
_BLOCK_START = re.compile(r"^\s*(#{1,6}\s|[-*+]\s|\d+[.)]\s|>\s?|\|)")


def _blocks(markdown: str) -> list[str]:
    """Paragraphs, headings, list items and table rows, each as one line of text."""
    text = re.sub(r"```.*?```", "\n\n", markdown, flags=re.S)  # fenced code
    text = re.sub(r"\$\$.*?\$\$", " FORMULA ", text, flags=re.S)  # display math
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            blocks.append([])
        elif _BLOCK_START.match(line) or not blocks or not blocks[-1]:
            blocks.append([line.strip()])
        else:
            blocks[-1].append(line.strip())
    return [" ".join(block) for block in blocks if block]


def sentences(markdown: str) -> list[str]:
    """The sentences of a markdown text (headings, list items and table rows are split apart too)."""
    result = []
    for block in _blocks(markdown):
        protected = block
        for abbreviation in _ABBREVIATIONS:
            protected = protected.replace(abbreviation, abbreviation.replace(".", _DOT))
        for piece in _SENTENCE_END.split(protected):
            piece = piece.replace(_DOT, ".").strip()
            if piece:
                result.append(piece)
    return result


# --------------------------------------------------------------------------- normalising one sentence

_VERDICT_LABEL = re.compile(r"(\*{1,2}|_)(holds?|partly|does not hold|not measured|hold)\1", re.I)


def _normalise(sentence: str) -> str:
    """Plain lower-case text: verdict labels named, markup, code and TeX spacing removed."""
    text = _VERDICT_LABEL.sub(" VERDICT-LABEL ", sentence)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", " CODE ", text)
    text = text.replace("\\%", "%").replace("\\,", " ").replace("\\;", " ").replace("\\ ", " ")
    text = re.sub(r"\\(text|mathrm|operatorname)\{([^}]*)\}", r"\2", text)
    text = re.sub(r"[*_]{1,2}(?=\S)|(?<=\S)[*_]{1,2}", "", text)
    text = text.replace("$", "").replace("\u2212", "-").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text).strip().lower()


def _clauses(text: str) -> list[tuple[int, int]]:
    """Spans of the clauses of a normalised sentence (split at ; : , parentheses, dashes, 'and'/'but')."""
    spans, start = [], 0
    for match in re.finditer(r"[;:,()]|\s[\u2014\u2013]\s|\s-{1,2}\s|\s(?:and|but|while|whereas)\s", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def _clause_of(text: str, position: int) -> str:
    return next(text[a:b] for a, b in _clauses(text) if a <= position <= b)


# --------------------------------------------------------------------------- the rules

_ATTRIBUTION = re.compile(
    r"\b(poster|paper|pigou|neverova|hinton|published|real data|real chalearn|real ones?|real files?"
    r"|the real|reported|reports|reportedly)\b"
)
_FIRST_PERSON = re.compile(r"\b(our|ours|we|us)\b")
#: "the poster's 1.12 MB and 0.635 MB": a possessive source just before a number.
_POSSESSIVE = re.compile(r"\b(?:poster|paper|pigou|neverova|hinton)'s\b")
#: A source that *reports* something: covers the rest of the sentence, not only its own clause.
_REPORTING = re.compile(
    r"\b(?:poster|paper|pigou|neverova|hinton|readme|authors?)(?:'s)?\s+(?:also\s+)?"
    r"(?:says?|reports?|reported|claims?|writes?|gives?|states?|publishes?|published|counts?)\b"
    r"|\baccording to\b|\bthe poster's claim\b"
)
_CONDITIONAL = re.compile(r"\b(if|when|whenever|whether|unless|until|as soon as|suppose|assume|how (?:much|far|fast|many|well|often))\b")
#: An instruction (exercise text) says what to compute, not what came out.
_INSTRUCTION = re.compile(r"^(?:\W*)(store|write|set|compute|find|take|use|return|run|count|convert|plot|train|show)\b")
_DEFINITION = re.compile(
    r"\b(at least|at most|threshold|must|defined|definition|the rule|is called|stands for"
    r"|e\.g\.|for example|for instance|say|is the (?:share|fraction|number|count) of|prints?|printed)\b"
)
_HYPOTHETICAL = re.compile(r"\b(would|could|might|need not|needs? to|can|cannot|should|expect)\b")

_NUMBER = re.compile(
    r"(?<![\w.^])[+\u00b1-]?\d+(?:\.\d+)?\s*(?:%|percent\b|percentage points?\b|points?\b|pp\b)"
)
#: Measured sizes and times: "71.8 MB", "5.3 ms", "895 s".
_MEASURE = re.compile(r"(?<![\w.^])\d+(?:[.,]\d+)?\s*(?:ms|kb|mb|gb|kib|mib|seconds?|s|minutes?|min)\b")
_NUMBER_EXEMPT = (
    # where frames sit within a gesture: "from 10 % to 90 % of its interval"
    re.compile(r"\d+(?:\.\d+)?\s*%\s*(?:(?:-|\u2013|to)\s*\d+(?:\.\d+)?\s*%\s*)?of (?:its|the|each|their|a|an) "
               r"(?:interval|gesture|clip|frames?|span|sequence|recording)s?\b"),
    # settings of a compression method: "prune 80 %", "zero its 80 % smallest", "the 78 % sparsity"
    re.compile(r"\b(?:prune|pruned|pruning|zero|zeros|remove|removes|removed|removing|keep|keeps|kept|keeping)"
               r"\s+(?:\w+\s+){0,3}?\d+(?:\.\d+)?\s*%"),
    re.compile(r"\d+(?:\.\d+)?\s*%\s*of (?:the |its |all )?(?:weights|parameters)\s+(?:removed|kept|pruned)"),
    re.compile(r"\d+(?:\.\d+)?\s*%[- ]?(?:sparsity|sparse)\b"),
    # chance level is a fact of the class count
    re.compile(r"chance(?: level)?\s*(?:\(|is|=|:|of)?\s*\d+(?:\.\d+)?\s*%"),
    # the level of an interval is a setting of the method: "a 95 % interval"
    re.compile(r"\d+(?:\.\d+)?\s*%\s*(?:[\w$-]+\s+){0,2}?(?:interval|confidence|level)"),
)

_OUTCOMES: tuple[tuple[str, re.Pattern], ...] = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        ("ranking", r"\b(beats|beaten|outperforms?|outperformed|wins|won|loses to|lost to)\b"),
        ("ranking", r"\b(better|worse|more accurate|less accurate) than\b"),
        ("ranking", r"\b(is|are|was|were) (?:clearly |much |far |slightly |a little )?(?:the )?(best|worst|winner)\b"),
        ("speed verdict", r"\b(is|are|was|were|runs?|ran)\s+(?:not\s+)?(?:much\s+|far\s+|a little\s+|slightly\s+"
                          r"|\d+(?:\.\d+)?\s*(?:x|\u00d7|times)\s+)?(faster|slower)\b"),
        ("speed verdict", r"(?<!times )\b(faster|slower) than\b"),
        ("effect verdict", r"\b(helps|helped|hurts|improves|improved|worsens|worsened)\b"),
        ("effect verdict", r"\b(barely|hardly|scarcely) (moves?|moved|changes?|changed|matters?|mattered|drops?"
                           r"|dropped|falls?|fell|moving|affects?)\b"),
        ("effect verdict", r"\b(?:no|without(?: any)?)\s+(?:measurable\s+|visible\s+|noticeable\s+|real\s+"
                           r"|significant\s+)?(?:accuracy\s+)?(?:drop|loss|cost|penalty)s?\b"),
        ("effect verdict", r"\bat (?:no|little|almost no) (?:measurable )?cost\b"),
        ("effect verdict", r"\bcosts? (little|nothing|almost nothing|next to nothing)\b"),
        ("effect verdict", r"\b(recovers?|recovered) (much|most|part|some|all|little|nothing)\b"),
        ("effect verdict", r"\b(falls?|fell|drops?|dropped|collapses?|collapsed)\s+(quickly|sharply|steeply|fast"
                           r"|to chance)\b"),
        ("effect verdict", r"\b(stays?|stayed|sits?|sat|remains?|remained) (at|near) chance\b"),
        ("effect verdict", r"\b(stays?|stayed|remains?|remained) (?:roughly |nearly |almost |about )?"
                           r"(level|flat|constant|unchanged)\b"),
        ("effect verdict", r"(?:^|\b(?:the|our|its|their|test|validation) )accuracy\s+(?:\w+\s+){0,3}?"
                           r"(equals|stays|drops|falls|rises|moves|improves|doubles|halves|recovers)\b"),
        ("magnitude verdict", r"\bkeeps? (most|almost all|nearly all|much) of\b"),
        ("magnitude verdict", r"\b(end|ends|ended) (?:up )?(larger|smaller|bigger)\b"),
        ("agreement verdict", r"\b(?:lands?|landed) (?:on|near|close to) (?:the )?(?:poster|paper)"),
        ("agreement verdict", r"\b(?:agrees?|agreed|disagrees?|disagreed) with (?:the )?(?:poster|paper)"),
        ("agreement", r"\b(?:agree|agrees|agreed|disagree|disagrees|disagreed) with\b"),
        ("score", r"\b(reaches|reached|scores|scored|achieves|achieved|attains|attained)\b"),
        ("claim verdict", r"\b(holds|held|does not hold|doesn't hold|did not hold|do not hold|fails to hold)\b"),
    )
)
_QUOTED = re.compile(r'"[^"]{1,80}"|\u201c[^\u201d]{1,80}\u201d')
_CLAIM_WORDS = re.compile(r"\b(claim|claims|verdict|result|results|finding|hypothesis)\b")


def _attributed(text: str, position: int) -> bool:
    """Attributed to the poster / paper / real data: in the same clause, or earlier in a sentence not about us."""
    clause = _clause_of(text, position)
    if _ATTRIBUTION.search(clause) or _POSSESSIVE.search(text[max(0, position - 40):position]):
        return True
    return bool(_REPORTING.search(text[:position])) and not _FIRST_PERSON.search(clause)


def _conditional(text: str, position: int) -> bool:
    """Under a conditional (earlier in the sentence or in its clause), a definition (its clause) or an instruction."""
    clause = _clause_of(text, position)
    return bool(_INSTRUCTION.search(text) or _CONDITIONAL.search(text[:position]) or _CONDITIONAL.search(clause)
                or _DEFINITION.search(clause))


def _hypothetical(text: str, position: int) -> bool:
    clause = _clause_of(text, position)
    return bool(_HYPOTHETICAL.search(clause)) or "?" in clause


def why(sentence: str) -> str | None:
    """Why ``sentence`` reads as a result statement, or None when it does not."""
    if OPT_OUT in sentence:
        return None
    text = _normalise(sentence)
    if not text or text.endswith("?"):
        return None
    # a claim in quotes is named, not stated: 'a fair test of "distillation helps"'
    text = _QUOTED.sub(lambda m: " " * len(m.group()), text)
    numbers = text
    for exempt in _NUMBER_EXEMPT:
        numbers = exempt.sub(lambda m: " " * len(m.group()), numbers)
    for match in [*_NUMBER.finditer(numbers), *_MEASURE.finditer(numbers)]:
        where = match.start()
        if not (_attributed(text, where) or _conditional(text, where) or _hypothetical(text, where)):
            return f"a measured number ({match.group().strip()!r})"
    for label, pattern in _OUTCOMES:
        for match in pattern.finditer(text):
            if label == "claim verdict" and not _CLAIM_WORDS.search(text):
                continue
            if label == "score" and not _NUMBER.search(text[match.end():match.end() + 40]):
                continue
            where = match.start()
            if label == "agreement verdict":  # "lands on the poster's" names the poster, yet states our outcome
                if _conditional(text, where) or _hypothetical(text, where):
                    continue
                return f"{label} ({match.group().strip()!r})"
            if _attributed(text, where) or _conditional(text, where) or _hypothetical(text, where):
                continue
            return f"{label} ({match.group().strip()!r})"
    return None


def result_statements(markdown: str) -> list[str]:
    """The sentences of ``markdown`` that state an outcome of our runs (see the module docstring)."""
    return [s for s in sentences(markdown) if why(s)]


# --------------------------------------------------------------------------- notebooks


@dataclass(frozen=True)
class Violation:
    notebook: str
    cell: int
    sentence: str
    reason: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell}: {self.reason}: {self.sentence}"


def notebook_violations(path: str | Path) -> list[Violation]:
    """Every result statement in the markdown cells of one notebook, with the cell's index."""
    path = Path(path)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for sentence in sentences(source):
            reason = why(sentence)
            if reason:
                found.append(Violation(path.name, index, sentence, reason))
    return found


def opt_outs(path: str | Path) -> int:
    """How many times a notebook's markdown uses :data:`OPT_OUT`."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return sum(("".join(c["source"]) if isinstance(c["source"], list) else c["source"]).count(OPT_OUT)
               for c in cells if c.get("cell_type") == "markdown")
