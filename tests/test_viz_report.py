"""The HTML report: `train --report` and `report --checkpoint` write one self-contained page
(parsed here with html.parser: every image has alt text and an embedded data: URI, nothing is
fetched from the network, wide tables scroll in their box), and without matplotlib the command
fails in one line naming the extra to install."""
import html.parser
import re
import sys

import pytest

import autograd_cnn as ac
from autograd_cnn.cli import main

EXTERNAL = re.compile(r"^(https?:)?//|^ftp:", re.I)


class _Page(html.parser.HTMLParser):
    """Tags (with attributes and the open-element stack) and text of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.stack, self.text, self.ids = [], [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs, tuple(t for t, _ in self.stack)))
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag not in ("img", "meta", "link", "br", "input"):
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1][0] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(path):
    page = _Page()
    page.feed(open(path, encoding="utf-8").read())
    page.close()
    assert not page.stack, f"unclosed elements: {page.stack}"
    return page


def _check_page(path, sections, min_images=6):
    page = _parse(path)
    tags = [t for t, _, _ in page.tags]
    assert tags[:2] == ["html", "head"] and "main" in tags
    metas = [a for t, a, _ in page.tags if t == "meta"]
    assert any(a.get("name") == "viewport" for a in metas)
    assert not any(t in ("script", "link", "iframe") for t in tags)
    imgs = [a for t, a, _ in page.tags if t == "img"]
    assert len(imgs) >= min_images
    for a in imgs:
        assert a.get("alt", "").strip(), a.get("alt")
        assert a["src"].startswith("data:image/png;base64,")
        assert int(a["width"]) <= 1000 and int(a["height"]) > 0
    for t, a, parents in page.tags:
        for key in ("src", "href"):
            assert not EXTERNAL.match(a.get(key, "")), (t, a.get(key))
        if t == "img":
            assert "figure" in parents  # each image sits in a figure with its caption
        if t == "table":
            assert "div" in parents  # inside its scrolling box
        if t == "a" and a.get("href", "").startswith("#"):
            assert a["href"][1:] in page.ids
    assert tags.count("figcaption") == len(imgs)
    assert sections <= page.ids
    css = "".join(page.text)
    assert "max-width:980px" in css and "overflow-x:auto" in css and "max-width:100%" in css
    return page


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pytest.importorskip("matplotlib")
    d = tmp_path_factory.mktemp("report")
    code = main(["train", "--dataset", "digits", "--epochs", "2", "--quiet", "--checkpoint",
                 str(d / "ck.npz"), "--save", str(d / "model.npz"), "--report",
                 str(d / "train.html")])
    assert code == 0
    return d


def test_train_report_is_one_self_contained_page(trained):
    page = _check_page(trained / "train.html", {"summary", "training", "filters", "features",
                                                "receptive", "attribution", "confusion",
                                                "mistakes"})
    text = " ".join(page.text)
    assert "smallcnn on digits" in text and "Grad-CAM" in text and "best epoch" in text


@pytest.mark.parametrize("source", ["ck.npz", "model.npz"])
def test_report_command_from_a_checkpoint_or_a_saved_model(trained, source, capsys):
    out = trained / f"from_{source}.html"
    assert main(["report", "--checkpoint", str(trained / source), "-o", str(out),
                 "--images", "2", "--max-test", "100"]) == 0
    page = _check_page(out, {"summary", "training", "attribution", "confusion"})
    assert "100" in " ".join(page.text)  # the test samples used
    assert "Report written" in capsys.readouterr().out


def test_report_needs_the_model_name_for_a_bare_state_dict(trained, tmp_path, capsys):
    ck = ac.load(str(trained / "model.npz"))
    ac.save(ck["model"], str(tmp_path / "bare.npz"))
    assert main(["report", "--checkpoint", str(tmp_path / "bare.npz")]) == 2
    assert "give --model" in capsys.readouterr().err
    assert main(["report", "--checkpoint", str(tmp_path / "bare.npz"), "--model", "lenet5",
                 "--dataset", "digits", "-o", str(tmp_path / "x.html")]) == 2
    assert "does not fit lenet5" in capsys.readouterr().err
    assert main(["report", "--checkpoint", str(tmp_path / "missing.npz")]) == 2


def test_without_matplotlib_the_commands_name_the_plot_extra(tmp_path, monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["report", "--checkpoint", str(tmp_path / "ck.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install ".[plot]"' in err
    assert main(["train", "--dataset", "digits", "--report", str(tmp_path / "r.html")]) == 2
    assert 'pip install ".[plot]"' in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_write_report_of_an_mlp_says_there_is_nothing_convolutional(tmp_path):
    pytest.importorskip("matplotlib")
    from autograd_cnn.viz.report import write_report
    ac.manual_seed(0)
    model = ac.models.MLP(input_size=64, num_classes=10)
    d = ac.datasets.load("digits")
    write_report(tmp_path / "mlp.html", model, d.x[:50], d.y[:50], (1, 8, 8))
    page = _check_page(tmp_path / "mlp.html", {"summary", "confusion", "mistakes"},
                       min_images=2)
    assert "no convolution layer" in " ".join(page.text)
