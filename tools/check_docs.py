#!/usr/bin/env python3
"""Checks that the chapter guides (docs/**/*.md, and README.md) still describe the tree they sit in.

A guide that cites a file that moved, a test that was renamed or an excerpt of code that changed
is worse than no guide; this script makes CTest (`host.docs_references`) fail instead. In every
page under docs/ it checks:

  - paths: every `inline code` span (its first word, if it is a command) that starts with a top-level folder of the repository
    (kernel/, tests/, tools/, cmake/, bench/, docs/) or names a top-level file (Makefile,
    README.md, CMakeLists.txt, CMakePresets.json) exists; a `*` in it must match some file
    (`kernel/mm/mapper.*`). Relative Markdown links [text](target) must resolve too.
  - test names: every `host.<name>` and `kernel.<name>` span is a test in `ctest -N`, every
    `Suite.Name` or `Suite.*` span names GoogleTest tests in tests/host/, and every
    `ctest ... -R <regex>` command in a code block selects at least one test.
  - excerpts: a fenced code block whose info string names a file (```cpp kernel/mm/page.h) is an
    excerpt of that file: each of its lines, whitespace-normalised, must appear in the file, in
    the same order. A line that is only `...` or `// ...` marks an omission. A C++ or assembly
    block with no file is an error unless its info string says `sketch` (code the reader is to
    write, not ours).
  - gdb: in ```gdb blocks, `break`/`hbreak`/`b`/`tbreak` targets must name a function whose
    name appears in the sources under kernel/ or tests/kernel/, and `make <target>` in shell blocks must be
    a target of the Makefile.
  - in-kernel test names: `--append test=<substring>` (or APPEND "test=...") in a code block
    must select at least one KTEST, and `--gtest_filter=Suite.Name` patterns at least one
    GoogleTest TEST.

Usage:  tools/check_docs.py [--root .] [--ctest-dir build] [--ctest ctest] [--self-test] [pages...]
(--self-test runs the checker on a generated page with one mistake of each kind and fails unless
every mistake is reported: `host.docs_checker_self_test`.)
Exit status 0 when every page checks out; otherwise one line per problem and status 1.
"""
import argparse
import fnmatch
import pathlib
import re
import subprocess
import sys

TOP_DIRS = ("kernel/", "tests/", "tools/", "cmake/", "bench/", "docs/")
TOP_FILES = ("Makefile", "README.md", "CMakeLists.txt", "CMakePresets.json")
CODE_LANGUAGES = {"cpp", "c++", "c", "h", "asm", "gas", "s", "cmake", "python", "ld"}
FENCE = re.compile(r"^(\s*)(```+|~~~+)(.*)$")
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
TEST_NAME = re.compile(r"^(host|kernel)\.[A-Za-z0-9_]+$")
GTEST_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]*\.([A-Z][A-Za-z0-9_]*|\*)$")  # MapperTest.Map4KiB..., Waker.*


def normalise(line):
    return " ".join(line.split())


def parse_page(text):
    """Splits a Markdown page into prose lines and fenced blocks.

    Returns (prose, blocks): prose is a list of (line number, text) outside fences; blocks is a
    list of (line number of the opening fence, info string, list of lines)."""
    prose, blocks = [], []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            prose.append((i + 1, lines[i]))
            i += 1
            continue
        indent, fence, info = match.group(1), match.group(2), match.group(3).strip()
        body, start = [], i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line)
            i += 1
        blocks.append((start, info, body))
        i += 1  # the closing fence
    return prose, blocks


def is_path(span):
    return span.startswith(TOP_DIRS) or span in TOP_FILES


def path_exists(root, span):
    span = span.rstrip("/").split(":")[0]  # `file.cpp:120` style is not used, but be tolerant
    if "*" in span or "?" in span:
        return any(root.glob(span))
    return (root / span).exists()


def excerpt_problem(root, path, body):
    """None if every line of body appears in the file in order, else a description."""
    file = root / path
    if not file.is_file():
        return f"excerpt names {path}, which does not exist"
    file_lines = [normalise(line) for line in file.read_text(errors="replace").splitlines()]
    position = 0
    for line in body:
        wanted = normalise(line)
        if wanted in ("", "...", "// ...", "/* ... */", "# ..."):
            continue
        try:
            position = file_lines.index(wanted, position) + 1
        except ValueError:
            where = "at all" if wanted not in file_lines else "after the lines before it"
            return f"excerpt line not in {path} {where}: {line.strip()!r}"
    return None


def ctest_names(ctest, build_dir):
    output = subprocess.run([ctest, "--test-dir", str(build_dir), "-N"], capture_output=True,
                            text=True, check=True).stdout
    return re.findall(r"^\s*Test\s+#\d+: (\S+)$", output, re.MULTILINE)


def defined_names(root):
    """Identifiers that appear in the kernel's and test images' sources (for gdb breakpoints),
    KTEST names, and GoogleTest Suite.Name pairs."""
    identifiers, ktests, gtests = set(), set(), set()
    for folder in ("kernel", "tests/kernel"):
        for file in (root / folder).rglob("*"):
            if file.suffix in (".cpp", ".h", ".S"):
                text = file.read_text(errors="replace")
                identifiers.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
                ktests.update(re.findall(r"\bKTEST\(\s*([A-Za-z0-9_]+)\s*\)", text))
    for file in (root / "tests/host").rglob("*.cpp"):
        text = file.read_text(errors="replace")
        for typed, suite, name in re.findall(r"\b(TYPED_)?TEST(?:_F|_P)?\(\s*(\w+)\s*,\s*(\w+)\s*\)", text):
            # A typed test runs as Suite/0.Name, Suite/1.Name, ... for each type.
            gtests.add(f"{suite}/*.{name}" if typed else f"{suite}.{name}")
    return identifiers, ktests, gtests


def gtest_matches(name, pattern):
    """Whether a --gtest_filter pattern selects `name`. A typed test is stored as Suite/*.Name
    and runs once per type under a name we do not know (Suite/bump.Name): any type matches."""
    if fnmatch.fnmatch(name, pattern):
        return True
    return "/*." in name and fnmatch.fnmatch(name, re.sub(r"/[^./]*\.", "/*.", pattern))


def make_targets(root):
    text = (root / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_-]+):", text, re.MULTILINE))


def check_page(page, root, tests, identifiers, ktests, gtests, targets, relative=True):
    problems = []
    text = page.read_text()
    prose, blocks = parse_page(text)

    def report(line, message):
        problems.append(f"{page.relative_to(root) if relative else page.name}:{line}: {message}")

    for number, line in prose:
        for span in INLINE_CODE.findall(line):
            span = span.strip().split()[0] if span.strip() else ""  # a command: its program
            if is_path(span) and not path_exists(root, span):
                report(number, f"cited path does not exist: {span}")
            if TEST_NAME.match(span) and tests is not None and span not in tests:
                report(number, f"cited test is not in `ctest -N`: {span}")
            if GTEST_NAME.match(span) and not any(gtest_matches(n, span) for n in gtests):
                report(number, f"cited GoogleTest test does not exist: {span}")
        for target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor on the same page
            if not (page.parent / target.split("#")[0]).exists():
                report(number, f"link target does not exist: {target}")

    for number, info, body in blocks:
        words = info.split()
        language = words[0].lower() if words else ""
        if len(words) > 1 and words[1] != "sketch":
            problem = excerpt_problem(root, words[1], body)
            if problem:
                report(number, problem)
        elif language in CODE_LANGUAGES and "sketch" not in words:
            report(number, f"```{language} block names no file (```{language} <path>), "
                           "or say ```" + language + " sketch")
        joined = "\n".join(body)
        if language in ("sh", "shell", "bash", "console"):
            for regex in re.findall(r"\bctest\b[^\n]*?-R\s+'?([^\s']+)'?", joined):
                if tests is not None and not any(re.search(regex, name) for name in tests):
                    report(number, f"`ctest -R {regex}` selects no test")
            for target in re.findall(r"\bmake\s+([a-z][a-z0-9_-]*)", joined):
                if target not in targets:
                    report(number, f"`make {target}`: no such Makefile target")
            for cited in re.findall(r"\b(?:host|kernel)\.[A-Za-z0-9_]+\b", joined):
                if tests is not None and cited not in tests and not cited.endswith(("_", ".")):
                    if not re.search(r"[./]" + re.escape(cited), joined):
                        report(number, f"cited test is not in `ctest -N`: {cited}")
            for span in re.findall(r"(?:^|\s)((?:kernel|tests|tools|cmake|bench|docs)/[^\s'\"]+)",
                                   joined):
                if not path_exists(root, span):
                    report(number, f"cited path does not exist: {span}")
        for substring in re.findall(r"\btest=([A-Za-z0-9_]+)", joined):
            if not any(substring in name for name in ktests):
                report(number, f"test={substring} selects no KTEST")
        for pattern in re.findall(r"--gtest_filter=['\"]?([^\s'\"]+)", joined):
            positive = pattern.split("-")[0]
            if not any(gtest_matches(name, p) for p in positive.split(":") for name in gtests):
                report(number, f"--gtest_filter={pattern} selects no GoogleTest test")
        if language == "gdb":
            for target in re.findall(r"^\s*(?:hbreak|tbreak|break|b)\s+(\S+)", joined, re.MULTILINE):
                name = target.split("::")[-1].split("(")[0].lstrip("*")
                if re.match(r"^[A-Za-z_]\w*$", name) and name not in identifiers:
                    report(number, f"gdb breakpoint on {target}: no such name in kernel/ or tests/kernel/")
    return problems


def self_test(root, tests, identifiers, ktests, gtests, targets):
    """Checks the checker: a page with one mistake of each kind must get one report per mistake,
    and the same page with the mistakes fixed must get none."""
    import tempfile
    good = [
        "See `kernel/mm/page_table.h` and `host.test_paging` (`MapperTest.Map4KiBTranslateUnmapRoundTrip`).",
        "```cpp kernel/mm/page_table.h",
        "struct alignas(4096) PageTable {",
        "...",
        "static_assert(sizeof(PageTable) == 4096);",
        "```",
        "```sh",
        "ctest --test-dir build -R host.test_paging",
        "tools/ktest.py --kernel build/tests/kernel/kernel_tests.elf --append test=paging_",
        "build/tests/host/test_paging --gtest_filter=MapperTest.*",
        "make run",
        "```",
        "```gdb",
        "break ferrite::arch::handle_exception",
        "```",
    ]
    mistakes = {  # line to replace -> its stale version
        0: "See `kernel/mm/page_tables.h` and `host.test_pagin` (`MapperTest.Map4KiBRoundTrip`).",  # three
        4: "static_assert(sizeof(PageTable) == 8192);",
        7: "ctest --test-dir build -R host.test_pages",  # two reports: the regex and the name
        8: "tools/ktest.py --kernel build/tests/kernel/kernel_tests.elf --append test=pagin_",
        9: "build/tests/host/test_paging --gtest_filter=MapperTests.*",
        10: "make running",
        13: "break ferrite::arch::handle_exceptions",
    }
    expected_reports = 10
    with tempfile.TemporaryDirectory() as folder:
        page = pathlib.Path(folder) / "page.md"
        page.write_text("\n".join(good) + "\n")
        clean = check_page(page, root, tests, identifiers, ktests, gtests, targets, relative=False)
        bad = list(good)
        for index, line in mistakes.items():
            bad[index] = line
        page.write_text("\n".join(bad) + "\n")
        stale = check_page(page, root, tests, identifiers, ktests, gtests, targets, relative=False)
    for problem in stale:
        print("  found (as it should):", problem)
    if clean or len(stale) != expected_reports:
        print(f"check_docs self-test FAILED: {len(clean)} reports on the good page (want 0): {clean}; "
              f"{len(stale)} on the stale page (want {expected_reports})")
        return 1
    print(f"check_docs self-test: the good page passes, the stale page gets all {expected_reports} reports")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=pathlib.Path(__file__).resolve().parent.parent, type=pathlib.Path)
    parser.add_argument("--ctest-dir", type=pathlib.Path, help="build directory for `ctest -N`")
    parser.add_argument("--ctest", default="ctest")
    parser.add_argument("--self-test", action="store_true",
                        help="check the checker on a page with known mistakes (needs --ctest-dir)")
    parser.add_argument("pages", nargs="*", type=pathlib.Path)
    args = parser.parse_args()
    root = args.root.resolve()

    tests = set(ctest_names(args.ctest, args.ctest_dir)) if args.ctest_dir else None
    if tests is not None and not tests:
        print("check_docs: `ctest -N` listed no tests", file=sys.stderr)
        return 1
    identifiers, ktests, gtests = defined_names(root)
    targets = make_targets(root)
    if args.self_test:
        return self_test(root, tests or set(), identifiers, ktests, gtests, targets)
    pages = [p.resolve() for p in args.pages] or [root / "README.md", *sorted((root / "docs").rglob("*.md"))]

    problems = []
    for page in pages:
        problems += check_page(page, root, tests, identifiers, ktests, gtests, targets)
    for problem in problems:
        print(problem)
    print(f"check_docs: {len(pages)} pages, {len(problems)} problems"
          + ("" if tests is not None else " (test names not checked: no --ctest-dir)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
