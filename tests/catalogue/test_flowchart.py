"""The flowchart drawn from an item's flow (issue 17, point 2): one box per step in order,
hostile step names kept as text, nothing active in the SVG."""

from __future__ import annotations

from xml.etree import ElementTree

from sunlight.catalogue import Catalogue
from sunlight.catalogue.flow import FlowStep
from sunlight.catalogue.flowchart import SVG_NS, flow_summary, flowchart_svg

NS = f"{{{SVG_NS}}}"
HOSTILE = "<script>alert(1)</script>{{ 7*7 }}\u202e"


def _flow(review_name: str = "材料审查") -> list[FlowStep]:
    return [FlowStep(kind="accept", name="受理", role="clerk", limit_days=1),
            FlowStep(kind="review", name=review_name, role="reviewer", limit_days=3),
            FlowStep(kind="decide", name="审批", role="approver", limit_days=0),
            FlowStep(kind="close", name="办结", role="clerk", limit_days=1)]


def test_one_box_per_step_in_order_with_post_and_limit(sample: Catalogue) -> None:
    item = sample.item("320703-SCJGJ-XK-001")
    root = ElementTree.fromstring(flowchart_svg(item.flow, title=item.name))
    texts = [t.text for t in root.iter(f"{NS}text")]
    bold = [t for t in texts if t and t[0].isdigit()]
    assert bold == [f"{n}. {s.name}" for n, s in enumerate(item.flow, start=1)]
    assert "审查审核 · 3 个工作日" in texts
    assert texts[0] == "申请人提交申请" and texts[-1] == "办结，告知结果"
    assert root.find(f"{NS}title").text == "食品经营许可办理流程图"  # type: ignore[union-attr]
    assert len(root.findall(f"{NS}line")) == len(item.flow) + 1


def test_a_hostile_step_name_stays_text_and_nothing_is_active() -> None:
    svg = flowchart_svg(_flow(HOSTILE[:40]), title="<b>事项</b>")
    root = ElementTree.fromstring(svg)
    tags = {e.tag.removeprefix(NS) for e in root.iter()}
    assert tags <= {"svg", "title", "desc", "defs", "marker", "path", "rect", "line", "text"}
    for element in root.iter():
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), name
            assert "javascript" not in value.lower()
            if "href" in name:
                raise AssertionError(f"link in the flowchart: {name}={value}")
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "2. " + HOSTILE[:40] in [t.text for t in root.iter(f"{NS}text")]


def test_same_flow_same_bytes_and_a_text_alternative() -> None:
    assert flowchart_svg(_flow(), title="许可") == flowchart_svg(_flow(), title="许可")
    assert flow_summary(_flow()) == (
        "受理（窗口受理，1 个工作日） → 材料审查（审查审核，3 个工作日） → "
        "审批（审批决定，当日办结） → 办结（窗口受理，1 个工作日）")
