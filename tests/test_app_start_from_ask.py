"""Compare and Evaluate start from the models last set on Ask, not from fixed names."""

from __future__ import annotations

from typing import Any

import pytest

from rlm_testkit.standin import StandIn
from tests.apptest import open_app


@pytest.mark.parametrize(("page", "prefix"), [("compare", "cmp"), ("evaluate", "ev")])
def test_the_first_configuration_is_asks(
    app_db: Any, standin_env: StandIn, page: str, prefix: str
) -> None:
    app_db.save_corpus("Notes", [{"name": "n.txt", "text": "The code is 7431."}])
    at = open_app()
    at.selectbox(key="ask-root-provider").set_value("anthropic").run()
    at.text_input(key="ask-root-model").set_value("house-root").run()
    at.selectbox(key="ask-sub-provider").set_value("anthropic").run()
    at.text_input(key="ask-sub-model").set_value("house-sub").run()
    at.switch_page(f"pages/{page}.py").run()

    def field(name: str) -> Any:
        return at.get_by_key(f"{prefix}-{name}")  # type: ignore[attr-defined]

    assert field("0-root-provider").value == "anthropic"
    assert field("0-root-model").value == "house-root"
    assert field("0-sub-model").value == "house-sub"
    assert field("1-root-model").value == "house-sub"  # the contrast: the smaller model as root
    assert not at.exception
