#!/usr/bin/env python3
"""Prints the module import graph of a crate and fails if it has a cycle.

    python3 scripts/import_cycles.py wskit/src wskit-core/src

Without arguments it checks the four crates: wskit, wskit-core, wskit-macros, wskit-cloudflare.

A node is a module file (`server/dispatch.rs` is `server::dispatch`, `server/mod.rs` is `server`).
An edge A -> B is any path in A's code (a `use`, or an inline `crate::..`/`super::..`/`self::..`
path, or an inline path whose first segment is a child module of A (`types::generate(p)`) or a
name A imported (`io::ws::Stream` after `use super::io`, `c::X` after `use a::b as c`)) that
names module B or an item defined in B's file. A path naming an item re-exported by a `mod.rs`
(`super::Connection`) counts as an edge to that `mod.rs`, since that is what it reads. Within an
inline module (`mod name { .. }`), `super::` counts from that module, not the file's. Test modules
(`#[cfg(test)] mod tests { .. }`, from the attribute to its closing brace, wherever it is in the
file, and files only compiled under `cfg(test)`) are left out: they are allowed to reach anything.
Doc comments are ignored.

Exit status 1 and the cycles printed when some strongly connected component has more than one
module, 0 otherwise.
"""

import itertools
import os
import re
import sys


def modules(root):
    """Maps module path (tuple) -> file, for every .rs file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            out[tuple(parts)] = os.path.join(dirpath, f)
    return out


def code_of(path):
    text = open(path).read()
    # Drop each inline test module, `#[cfg(test)] mod name { .. }`, from its attribute to its
    # closing brace, and go on reading after it.
    test_mod = re.compile(r"^[ \t]*#\[cfg\(test\)\]\s*\n\s*mod \w+\s*\{", re.M)
    pos = 0
    while True:
        m = test_mod.search(text, pos)
        if not m:
            break
        end = block_end(text, m.end() - 1)
        text = text[: m.start()] + text[end:]
        pos = m.start()
    lines = [l for l in text.splitlines() if not l.lstrip().startswith("//")]
    return "\n".join(lines)


def block_end(text, open_at):
    """The index just past the `}` that closes the `{` at `open_at`, ignoring braces inside
    comments (line and nested block), string literals (raw and byte ones included) and char
    literals. The end of the text when it never closes."""
    depth, i, n = 0, open_at, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
            continue
        if text.startswith("/*", i):
            nest, i = 1, i + 2
            while i < n and nest:
                if text.startswith("/*", i):
                    nest, i = nest + 1, i + 2
                elif text.startswith("*/", i):
                    nest, i = nest - 1, i + 2
                else:
                    i += 1
            continue
        raw = re.match(r'b?r(#*)"', text[i : i + 300])
        if raw and not (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = '"' + raw.group(1)
            j = text.find(close, i + raw.end())
            i = n if j < 0 else j + len(close)
            continue
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if c == "'":
            # A char literal ('x', '\n', '\u{..}', '{'), not a lifetime or a label ('a).
            ch = re.match(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'", text[i : i + 12])
            i += ch.end() if ch else 1
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def test_only(root_mods):
    """Modules declared under #[cfg(test)] in their parent."""
    skip = set()
    for mod, path in root_mods.items():
        text = open(path).read()
        for m in re.finditer(r"#\[cfg\(test\)\]\s*\n\s*(?:pub(?:\([^)]*\))? )?mod (\w+);", text):
            skip.add(mod + (m.group(1),))
    return skip


def paths_in(code):
    """Every `crate::a::b` / `super::a` / `self::a` path, with `use` groups expanded, and every
    inline path that starts with a name the file imported (replaced by what it imports) or a bare
    name (`types::x`, left for `resolve` to find among the child modules). Inside an inline module
    (`mod name { .. }`), `self::` and as many `super::` as it is deep stay in the file: they are
    dropped, and the `super::`s beyond that are counted from the file's module."""
    spans = [(m.end() - 1, block_end(code, m.end() - 1)) for m in re.finditer(r"\bmod\s+\w+\s*\{", code)]
    found = []

    def within_file(path, at):
        """The path as the file's module reads it, or None when it stays in an inline module."""
        depth = sum(1 for start, end in spans if start < at < end)
        if depth and path[0] == "self":
            return None
        if depth and path[0] == "super":
            supers = len(path) - len(list(itertools.dropwhile(lambda p: p == "super", path)))
            if supers <= depth:
                return None
            path = path[depth:]
        return path

    imported = {}  # name a `use` brings in -> the path it names (None: inside the file)
    uses = list(re.finditer(r"\buse\s+([^;]+);", code, re.S))
    for m in uses:
        for path, name in expand(normalize(m.group(1))):
            path = within_file(path, m.start())
            if name and name != "_":
                imported[name] = path
            if path:
                found.append(path)
    # Inline paths, outside the `use`s (already read) and not in the middle of a longer path.
    rest = re.sub(r"\buse\s+[^;]+;", lambda m: " " * len(m.group(0)), code)
    for m in re.finditer(r"(?<![\w:])(\$?\w+(?:::\w+)+)", rest):
        path = m.group(1).split("::")
        if path[0].startswith("$"):  # in a `macro_rules!`: `$crate::..`, or a metavariable
            if path[0] != "$crate":
                continue
            path[0] = "crate"
        if path[0] not in ("crate", "super", "self"):
            if path[0] not in imported:
                found.append(path)  # a child module's name, or outside the crate
                continue
            if imported[path[0]] is None:
                continue
            path = imported[path[0]] + path[1:]
        path = within_file(path, m.start())
        if path:
            found.append(path)
    return found


def normalize(tree):
    """A `use` tree with its whitespace dropped, except the single spaces around `as`."""
    tree = re.sub(r"\s+", " ", tree).strip()
    return re.sub(r" ?(::|[{},]) ?", r"\1", tree)


def expand(tree):
    """Expands `a::{b, c::{d as e}}` into [([a, b], b), ([a, c, d], e)]: each path and the name
    it brings into scope (`a::{self}` is ([a], a))."""
    if "{" not in tree:
        path, _, alias = tree.partition(" as ")
        path = [p for p in path.split("::") if p]
        return [(path, alias or (path[-1] if path else None))]
    head, rest = tree.split("{", 1)
    inner = rest[: rest.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    if cur:
        parts.append(cur)
    prefix = [p for p in head.split("::") if p]
    out = []
    for p in parts:
        for sub, name in expand(p):
            path = prefix + [x for x in sub if x != "self"]
            if name == "self":
                name = prefix[-1] if prefix else None
            out.append((path, name))
    return out


def resolve(mod, path, mods):
    """The module a path reads from, or None when it leaves the crate."""
    if path[0] == "crate":
        base, rest = (), path[1:]
    elif path[0] == "super":
        base, rest = mod, path
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif path[0] == "self":
        base, rest = mod, path[1:]
    elif tuple(mod) + (path[0],) in mods:
        base, rest = mod, path  # a child module named without `self::`
    else:
        return None
    target = tuple(base)
    for p in rest:
        if target + (p,) in mods:
            target = target + (p,)
        else:
            break
    return target


def main(roots):
    failed = False
    for root in roots:
        mods = modules(root)
        skip = test_only(mods)
        mods = {m: p for m, p in mods.items() if not any(m[: len(s)] == s for s in skip)}
        edges = {m: set() for m in mods}
        for mod, path in mods.items():
            for p in paths_in(code_of(path)):
                t = resolve(mod, p, mods)
                if t is None or t == mod:
                    continue
                edges[mod].add(t)
        cycles = sccs(edges)
        name = lambda m: "::".join(m) or "crate"
        print(f"{root}: {len(mods)} modules, {sum(len(v) for v in edges.values())} edges")
        for c in cycles:
            failed = True
            print("  cycle:", ", ".join(sorted(name(m) for m in c)))
            for a in sorted(c):
                for b in sorted(edges[a] & c):
                    print(f"    {name(a)} -> {name(b)}")
    return 1 if failed else 0


def sccs(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or [
        "wskit/src", "wskit-core/src", "wskit-macros/src", "wskit-cloudflare/src",
    ]))
