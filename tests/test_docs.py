"""README.md and docs/*.md: the commands they show run something that exists.

Every command of a fenced shell block (and every inline `python ...` command) is
checked against the repository: `python -m MODULE` names a module of this repository
(or one of the few tools it names, such as pytest), `python infer.py`,
`python scripts/...py` and `python benchmarks/...py` name files that exist, and a
console script (`colorize`, `colorization-...`) is declared in setup.py. Links and
images (and the headings they point at) and repository paths in backticks must
exist too, and the README stays a front door (under 220 lines).
"""

import ast
import glob
import importlib.util
import os
import re
import shlex

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
DOCS = sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))
PAGES = [README] + DOCS
SHELLS = {"bash", "sh", "shell", "console", "zsh"}
# `python -m` tools that are not part of this repository but that the docs name.
OUTSIDE_MODULES = {"pytest", "pip"}
OUR_PACKAGES = ("colorization", "data_pipeline")
# Repository paths in backticks that must exist (the first folder decides).
CHECKED_FOLDERS = (
    "colorization/",
    "data_pipeline/",
    "scripts/",
    "benchmarks/",
    "tests/",
    "docs/",
    "samples/",
    ".ci/",
)
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+(?:\n[^`\n]+){0,3})`")


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _name(path):
    return os.path.relpath(path, REPO)


def _shell_blocks(text):
    """The bodies of the fenced blocks whose language is a shell."""
    return [body for lang, body in FENCE.findall(text) if lang.lower() in SHELLS]


def _prose(text):
    """The text outside fenced blocks."""
    return FENCE.sub("", text)


def _command_lines(block):
    """The commands of a shell block: continuations joined, comments dropped, split at
    `&&`, `||`, `;` and `|`."""
    joined = re.sub(r"\\\n", " ", block)
    commands = []
    for line in joined.splitlines():
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            tokens = list(lexer)
        except ValueError:  # an unbalanced quote: not a command we check
            continue
        current = []
        for token in tokens:
            if token and set(token) <= set(";&|"):
                commands.append(current)
                current = []
            else:
                current.append(token)
        commands.append(current)
    return [c for c in commands if c]


def _strip_env(tokens):
    """A command without its leading `NAME=value` assignments."""
    while tokens and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):
        tokens = tokens[1:]
    return tokens


def _commands():
    """(page, command tokens) for every command of every page."""
    found = []
    for page in PAGES:
        text = _read(page)
        for block in _shell_blocks(text):
            found += [(page, _strip_env(c)) for c in _command_lines(block)]
        for span in INLINE.findall(_prose(text)):
            span = " ".join(span.split())
            if re.match(r"^(python |colorize\b|colorization-)", span):
                try:
                    found.append((page, _strip_env(shlex.split(span, comments=True))))
                except ValueError:
                    continue
    return [(page, tokens) for page, tokens in found if tokens]


def _console_scripts():
    """The console scripts setup.py declares: {name: "module:function"}."""
    tree = ast.parse(_read(os.path.join(REPO, "setup.py")))
    scripts = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    for item in ast.literal_eval(value):
                        name, target = (part.strip() for part in item.split("="))
                        scripts[name] = target
    return scripts


COMMANDS = _commands()


def _python_modules():
    return sorted(
        {(t[2], _name(p)) for p, t in COMMANDS if t[0] == "python" and t[1:2] == ["-m"]}
    )


def _python_files():
    return sorted(
        {
            (t[1], _name(p))
            for p, t in COMMANDS
            if t[0] == "python" and len(t) > 1 and t[1].endswith(".py")
        }
    )


def _console_commands():
    return sorted(
        {
            (t[0], _name(p))
            for p, t in COMMANDS
            if re.fullmatch(r"colorize|colorization-[a-z0-9-]+", t[0])
        }
    )


def test_pages_have_commands():
    # The parser found the README's two set-up commands: it reads the blocks at all.
    readme = [t for p, t in COMMANDS if p == README]
    assert ["python", "infer.py", "samples/"] in readme
    assert ["python", "-m", "pytest", "-q"] in readme
    assert _python_modules() and _python_files()


def test_readme_starts_with_the_set_up_commands():
    """CI and the project rules run the first code block of the README."""
    first = FENCE.search(_read(README))
    assert first.group(2).splitlines()[:2] == [
        "pip install -e . && python infer.py samples/",
        'pip install -e ".[test]" && python -m pytest -q',
    ]


@pytest.mark.parametrize("module,page", _python_modules())
def test_python_m_names_a_module(module, page):
    top = module.split(".")[0]
    if top not in OUR_PACKAGES:
        assert module in OUTSIDE_MODULES, f"{page}: python -m {module}: not ours"
        return
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # a parent package is missing, or a bad name
        spec = None
    assert spec is not None, f"{page}: python -m {module}: no such module"
    if spec.submodule_search_locations is not None:  # a package runs its __main__
        main = importlib.util.find_spec(module + ".__main__")
        assert main is not None, f"{page}: python -m {module}: package has no __main__"


@pytest.mark.parametrize("script,page", _python_files())
def test_python_script_exists(script, page):
    assert os.path.isfile(os.path.join(REPO, script)), f"{page}: python {script}"
    assert "/" not in script or script.split("/")[0] in ("scripts", "benchmarks"), (
        f"{page}: python {script}: scripts live at the top, in scripts/ or benchmarks/"
    )


@pytest.mark.parametrize("command,page", _console_commands())
def test_console_script_is_declared(command, page):
    scripts = _console_scripts()
    assert command in scripts, f"{page}: {command} is not in setup.py's entry_points"
    module = scripts[command].split(":")[0]
    assert importlib.util.find_spec(module) is not None, f"setup.py: {module}"


def _links(text):
    """Targets of markdown links and images."""
    return re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", text)


def _anchors(path):
    """The anchors GitHub gives the headings of a page."""
    headings = re.findall(r"^#+ (.*)$", _prose(_read(path)), re.M)
    return {
        re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings
    }


@pytest.mark.parametrize("page", [_name(p) for p in PAGES])
def test_links_and_images_exist(page):
    path = os.path.join(REPO, page)
    missing = []
    for target in _links(_read(path)):
        if re.match(r"^[a-z]+:", target):
            continue  # a URL
        file, _, anchor = target.partition("#")
        file = os.path.normpath(
            os.path.join(os.path.dirname(path), file) if file else path
        )
        if not os.path.exists(file):
            missing.append(target)
        elif anchor and file.endswith(".md") and anchor not in _anchors(file):
            missing.append(target)
    assert not missing, f"{page}: links to missing files or headings: {missing}"


def test_readme_links_to_docs():
    text = _read(README)
    targets = [t for t in _links(text) if t.startswith("docs/")]
    assert "docs/gallery.jpg" in targets
    for page in DOCS:  # every page is reachable from the front door
        assert _name(page) in targets, f"README.md does not link {_name(page)}"


@pytest.mark.parametrize("page", [_name(p) for p in PAGES])
def test_repository_paths_exist(page):
    """Paths such as `colorization/inference/colorizer.py` in backticks exist."""
    missing = []
    for span in INLINE.findall(_prose(_read(os.path.join(REPO, page)))):
        for word in span.split():
            word = word.strip("(),;:")
            if not word.startswith(CHECKED_FOLDERS) or any(c in word for c in "*$<>"):
                continue
            if not os.path.exists(os.path.join(REPO, word)):
                missing.append(word)
    assert not missing, f"{page}: paths that do not exist: {missing}"


def test_readme_is_a_front_door():
    lines = _read(README).splitlines()
    assert len(lines) < 220, f"README.md has {len(lines)} lines; move detail to docs/"
    text = "\n".join(lines)
    # Figures that go stale leave the README: test counts and test times.
    assert not re.search(r"\b\d+ (slow |long )?tests\b", text), "a test count"
