"""PowerMTA configuration files: a lossless parser and writer (pure; no I/O).

The format (powermta.md §2.1): one directive per line (`name value`), blocks
`<tag arg>` ... `</tag>` that nest, `#` comments to the end of the line (even inside regexes),
`include FILE` lines. Line continuations: a line whose text ends with a backslash continues on
the next line (the reference note does not document continuations; we accept them so that
operators' files round-trip, and never write them).

Every node keeps the exact text it was parsed from, so `write(parse(text)) == text` byte for
byte (line endings, indentation, trailing spaces and comments included). Nodes built in code
(raw is None) are formatted with four-space indentation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from emailengine.errors import UsageError

INDENT = "    "


class ConfigParseError(UsageError):
    """The text is not a well-formed PowerMTA config (unbalanced or mismatched blocks)."""


@dataclass
class Comment:
    """A blank or comment-only line, kept verbatim."""

    raw: str


@dataclass
class Directive:
    """`name value`; value excludes a trailing comment; raw spans continuation lines."""

    name: str
    value: str = ""
    raw: str | None = None
    line: int = 0


@dataclass
class Block:
    """`<tag arg>` children `</tag>`."""

    tag: str
    arg: str = ""
    children: list[Node] = field(default_factory=list)
    open_raw: str | None = None
    close_raw: str | None = None
    line: int = 0

    def blocks(self, tag: str | None = None) -> list[Block]:
        """Direct child blocks, optionally only those with this tag (case-insensitive)."""
        return [c for c in self.children if isinstance(c, Block) and (tag is None or c.tag.lower() == tag.lower())]

    def directives(self, name: str | None = None) -> list[Directive]:
        """Direct child directives, optionally only those with this name (case-insensitive)."""
        return [c for c in self.children
                if isinstance(c, Directive) and (name is None or c.name.lower() == name.lower())]

    def values(self, name: str) -> list[str]:
        """Values of the direct child directives with this name."""
        return [d.value for d in self.directives(name)]


Node = Comment | Directive | Block


@dataclass
class Document(Block):
    """The whole file: a block without tag lines."""

    tag: str = ""

    def walk(self) -> Iterator[tuple[Node, int]]:
        """Yield (node, depth) for every node, depth first in file order."""
        yield from _walk(self.children, 0)

    def includes(self) -> list[str]:
        """The targets of every `include` directive, at any depth, in order."""
        return [n.value for n, _ in self.walk() if isinstance(n, Directive) and n.name.lower() == "include"]


def _walk(children: list[Node], depth: int) -> Iterator[tuple[Node, int]]:
    for child in children:
        yield child, depth
        if isinstance(child, Block):
            yield from _walk(child.children, depth + 1)


def _strip_comment(text: str) -> str:
    """Text before `#` (PowerMTA has no escaping of `#`; `\\x23` is used inside regexes)."""
    return text.split("#", 1)[0].strip()


def _split_lines(text: str) -> list[str]:
    """Split keeping line ends (\\n, \\r\\n; a bare \\r stays inside a line)."""
    lines = text.split("\n")
    out = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def _logical_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """Yield (first line number, raw text incl. continuations, joined logical text)."""
    lines = _split_lines(text)
    index = 0
    while index < len(lines):
        start = index
        raw = lines[index]
        body = raw.rstrip("\r\n")
        joined = body
        # A continuation only when the backslash is not inside a comment.
        while _continues(joined) and index + 1 < len(lines):
            index += 1
            raw += lines[index]
            joined = joined.rstrip()[:-1] + " " + lines[index].rstrip("\r\n").lstrip()
        yield start + 1, raw, joined
        index += 1


def _continues(text: str) -> bool:
    # A backslash before a comment is part of the comment, not a continuation.
    return "#" not in text and text.rstrip().endswith("\\")


def parse(text: str, source: str = "config") -> Document:
    """Parse config text into a Document; raise ConfigParseError on unbalanced blocks."""
    document = Document()
    stack: list[Block] = [document]
    for number, raw, logical in _logical_lines(text):
        code = _strip_comment(logical)
        if not code:
            stack[-1].children.append(Comment(raw))
        elif code.startswith("</"):
            tag = code[2:].rstrip(">").strip()
            if not code.endswith(">") or len(stack) == 1:
                raise ConfigParseError(f"{source} line {number}: unexpected {code}")
            if stack[-1].tag.lower() != tag.lower():
                raise ConfigParseError(f"{source} line {number}: {code} closes <{stack[-1].tag}> "
                                       f"opened on line {stack[-1].line}")
            stack.pop().close_raw = raw
        elif code.startswith("<"):
            if not code.endswith(">"):
                raise ConfigParseError(f"{source} line {number}: block tag without '>'")
            inner = code[1:-1].strip()
            tag, _, arg = inner.partition(" ")
            block = Block(tag=tag, arg=arg.strip(), open_raw=raw, line=number)
            stack[-1].children.append(block)
            stack.append(block)
        else:
            name, _, value = code.partition(" ")
            stack[-1].children.append(Directive(name, value.strip(), raw, number))
    if len(stack) > 1:
        raise ConfigParseError(f"{source}: <{stack[-1].tag}> opened on line {stack[-1].line} is never closed")
    return document


def write(document: Block) -> str:
    """Return the text of a Document (parsed nodes verbatim, new nodes formatted).

    A new node after a parsed last line without a line end starts on a new line.
    """
    out: list[str] = []
    for text, new in _write_nodes(document.children, 0):
        if new and out and not out[-1].endswith("\n"):
            out.append("\n")
        out.append(text)
    return "".join(out)


def _write_nodes(children: list[Node], depth: int) -> Iterator[tuple[str, bool]]:
    pad = INDENT * depth
    for node in children:
        if isinstance(node, Comment):
            yield node.raw, False
        elif isinstance(node, Directive):
            if node.raw is not None:
                yield node.raw, False
            else:
                yield f"{pad}{node.name} {node.value}".rstrip() + "\n", True
        else:
            head = f"{node.tag} {node.arg}".strip()
            yield (node.open_raw, False) if node.open_raw is not None else (f"{pad}<{head}>\n", True)
            yield from _write_nodes(node.children, depth + 1)
            yield (node.close_raw, False) if node.close_raw is not None else (f"{pad}</{node.tag}>\n", True)
