"""LaTeX and Markdown to plain text, for ``minicnn explain`` in a terminal.

The cards are written once, in Markdown with LaTeX math (``$...$`` inline,
``$$...$$`` displayed), which GitHub renders. The terminal gets the same text
through :func:`markdown_to_text`: math becomes ASCII (``\\frac{a}{b}`` ->
``a/b``, ``\\sum_{c,u,v}`` -> ``sum_{c,u,v}``, ``\\frac{\\partial L}{\\partial x}`` ->
``dL/dx``, Greek letters by name), headings are underlined, emphasis and code
marks are dropped. The converter knows a fixed vocabulary of LaTeX commands
and raises :class:`UnknownLatex` on anything else, so a card that uses a new
command fails its test instead of printing backslashes.
"""
import re


class UnknownLatex(ValueError):
    """The card uses a LaTeX command the plain-text converter does not know."""


_WORDS = {
    # Greek (by name: the terminal may not have the glyphs, a reader knows the names)
    "alpha": "alpha", "beta": "beta", "gamma": "gamma", "delta": "delta", "Delta": "Delta",
    "epsilon": "eps", "varepsilon": "eps", "eta": "eta", "theta": "theta", "kappa": "kappa",
    "lambda": "lambda", "mu": "mu", "nu": "nu", "pi": "pi", "rho": "rho", "sigma": "sigma",
    "Sigma": "Sigma", "tau": "tau", "phi": "phi", "Phi": "Phi", "psi": "psi", "omega": "omega",
    # operators and relations
    "cdot": "*", "times": "x", "odot": "*", "le": "<=", "leq": "<=", "ge": ">=", "geq": ">=",
    "ne": "!=", "neq": "!=", "approx": "~=", "sim": "~", "equiv": "==", "in": " in ",
    "notin": " not in ", "to": "->", "rightarrow": "->", "leftarrow": "<-", "Rightarrow": "=>",
    "mapsto": "->", "gg": ">>", "ll": "<<", "leftrightarrow": "<->", "pm": "+-", "infty": "inf", "ldots": "...", "dots": "...", "cdots": "...",
    "sum": "sum", "prod": "prod", "log": "log", "exp": "exp", "max": "max", "min": "min",
    "tanh": "tanh", "ln": "ln", "sqrt": "sqrt", "mid": " | ", "top": "T", "ell": "l",
    "bmod": " mod ", "lvert": "|", "rvert": "|", "vert": "|", "nabla": "grad",
    "lfloor": "floor(", "rfloor": ")", "lceil": "ceil(", "rceil": ")", "quad": "   ",
    "qquad": "      ", "displaystyle": "", "forall": "for all ", "exists": "exists ",
    "langle": "<", "rangle": ">", "cup": " u ", "cap": " n ", "subset": " subset ",
    "partial": "d", "circ": " o ", "star": "*",
}
_SPACING = {",": " ", ";": " ", ":": " ", "!": "", " ": " ", "{": "{", "}": "}", "_": "_",
            "%": "%", "&": "&", "#": "#", "|": "||"}
_FONTS = {"text", "textrm", "mathrm", "mathit", "mathbf", "mathbb", "mathcal", "operatorname",
          "boldsymbol", "textit", "textbf", "mathsf", "texttt"}
_ACCENTS = {"hat": "hat", "bar": "bar", "overline": "bar", "tilde": "tilde"}
_IGNORED_ENVIRONMENTS = {"aligned", "cases", "array", "matrix", "pmatrix", "bmatrix", "split"}


def _group(tex, i):
    """``(content, next index)`` of the brace group starting at ``tex[i] == '{'``;
    a bare token (one character or one command) counts as a group too."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        raise UnknownLatex(f"missing argument at the end of {tex!r}")
    if tex[i] != "{":
        if tex[i] == "\\":
            match = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            return match.group(0), i + len(match.group(0))
        return tex[i], i + 1
    depth, j = 0, i
    while j < len(tex):
        if tex[j] == "\\":
            j += 2
            continue
        if tex[j] == "{":
            depth += 1
        elif tex[j] == "}":
            depth -= 1
            if depth == 0:
                return tex[i + 1:j], j + 1
        j += 1
    raise UnknownLatex(f"unbalanced braces in {tex!r}")


def _atomic(text):
    """True when ``text`` needs no parentheses as a numerator/denominator."""
    return re.fullmatch(r"[A-Za-z0-9_.^{}\[\],']+|[A-Za-z]+\([^()]*\)", text) is not None


def math_to_text(tex):
    """One LaTeX math string (without the ``$`` delimiters) as plain text."""
    out, i = [], 0
    while i < len(tex):
        char = tex[i]
        if char == "\\":
            match = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            name = match.group(1)
            i += len(match.group(0))
            if name in ("frac", "tfrac", "dfrac"):
                top, i = _group(tex, i)
                bottom, i = _group(tex, i)
                top, bottom = math_to_text(top).strip(), math_to_text(bottom).strip()
                top = top if _atomic(top) else f"({top})"
                bottom = bottom if _atomic(bottom) else f"({bottom})"
                out.append(f"{top}/{bottom}")
            elif name == "sqrt":
                inner, i = _group(tex, i)
                out.append(f"sqrt({math_to_text(inner).strip()})")
            elif name in _FONTS:
                inner, i = _group(tex, i)
                out.append(re.sub(r"\\([_%&#])", r"\1", inner) if name.startswith("text")
                           else math_to_text(inner))
            elif name == "substack":  # stacked conditions under a sum: one line, commas
                inner, i = _group(tex, i)
                out.append(math_to_text(inner.replace("\\\\", ",")))
            elif name == "mathrel":
                inner, i = _group(tex, i)
                out.append(" " + math_to_text(inner).strip())
            elif name in _ACCENTS:
                inner, i = _group(tex, i)
                inner = math_to_text(inner).strip()
                out.append(inner + _ACCENTS[name] if len(inner) == 1
                           else f"{_ACCENTS[name]}({inner})")
            elif name in ("left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr",
                          "Bigl", "Bigr"):
                if i < len(tex) and tex[i] == ".":
                    i += 1  # \left. : an invisible delimiter
            elif name in ("begin", "end"):
                env, i = _group(tex, i)
                if env not in _IGNORED_ENVIRONMENTS:
                    raise UnknownLatex(f"unknown environment {env!r} in {tex!r}")
            elif name == "\\":
                out.append("\n")
            elif name in _SPACING:
                out.append(_SPACING[name])
            elif name in _WORDS:
                word = _WORDS[name]
                if name == "partial":  # "\partial L" -> "dL"
                    while i < len(tex) and tex[i] == " ":
                        i += 1
                elif word.isalpha() and i < len(tex) and tex[i].isalnum():
                    word += " "
                out.append(word)
            else:
                raise UnknownLatex(f"unknown LaTeX command \\{name} in {tex!r}")
        elif char in "_^":
            inner, i = _group(tex, i + 1)
            inner = math_to_text(inner).strip()
            out.append(char + (inner if len(inner) == 1 else "{" + inner + "}"))
        elif char == "{":
            inner, i = _group(tex, i)
            out.append(math_to_text(inner))
        elif char == "&":
            i += 1
        elif char == "~":
            out.append(" ")
            i += 1
        else:
            out.append(char)
            i += 1
    text = "".join(out)
    text = re.sub(r"([(\[])[ \t]+", r"\1", text)  # "floor( x )" -> "floor(x)"
    text = re.sub(r"[ \t]+([)\]])", r"\1", text)
    return "\n".join(re.sub(r"[ \t]{2,}", " ", line).rstrip() for line in text.split("\n"))


_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def _link_text(match):
    """``[text](url)`` -> ``text (url)``, or just ``text`` when the url is a path ending in it."""
    text, url = match.group(1), match.group(2)
    if url.replace("../", "").endswith(text.strip("`")):
        return text
    return f"{text} ({url})"


def _inline(line):
    """Inline Markdown of one line: math, links and emphasis; code spans shown as they are."""
    line = _LINK.sub(_link_text, line)
    spans = []

    def hold(match):  # code is set aside, so that its * and $ stay literal
        spans.append(match.group(1))
        return f"\x00{len(spans) - 1}\x00"

    line = re.sub(r"`([^`]*)`", hold, line)
    line = _INLINE_MATH.sub(lambda m: math_to_text(m.group(1)).strip(), line)
    line = re.sub(r"\*\*(.+?)\*\*", r"\1", line)
    line = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"\1", line)
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], line)


def markdown_to_text(markdown):
    """A Markdown card (with LaTeX) as plain text for a terminal."""
    lines, out = markdown.split("\n"), []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):  # a code block: indented, untouched
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                out.append("    " + lines[i])
                i += 1
            i += 1
            continue
        if stripped.startswith("$$"):  # displayed math, possibly over several lines
            body = stripped[2:]
            while not body.rstrip().endswith("$$"):
                i += 1
                if i >= len(lines):
                    raise UnknownLatex(f"unterminated $$ block: {stripped!r}")
                body += "\n" + lines[i].strip()
            body = body.rstrip()[:-2]
            for text_line in math_to_text(body.replace("\n", " ")).split("\n"):
                if text_line.strip():
                    out.append("    " + text_line.strip())
            i += 1
            continue
        heading = re.match(r"(#+)\s+(.*)", line)
        if heading:
            title = _inline(heading.group(2))
            level = len(heading.group(1))
            out.append(title.upper() if level == 1 else title)
            out.append(("=" if level <= 2 else "-") * len(title))
            i += 1
            continue
        if stripped.startswith(">"):
            line = line.replace(">", " ", 1)
        out.append(_inline(line))
        i += 1
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
