"""The one name-masking rule (pointsapp.points.names), tested directly."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from pointsapp.points.names import mask_name

# Han characters, including ones outside the BMP (𠮷) and rare ones (䶮), plus Latin letters.
NAME_CHARS = st.sampled_from(list("向晓明欧阳兰宏谭高麻杨𠮷䶮贾德") + list("AbcXyz"))


@pytest.mark.parametrize(
    "name,masked",
    [
        ("向晓明", "向*明"),
        ("欧阳兰宏", "欧*宏"),
        ("向明", "向*"),
        ("麻", "麻*"),
        ("杨明𠮷", "杨*𠮷"),
        ("贾德䶮", "贾*䶮"),
        ("司马相如", "司*如"),
        ("阿卜杜·热合曼", "阿*曼"),
        ("Maria Lopez", "M*z"),
        (" 向 晓明 ", "向*明"),
        ("", ""),
        (None, ""),
        ("   ", ""),
    ],
)
def test_examples(name, masked):
    assert mask_name(name) == masked


@given(st.text(NAME_CHARS, min_size=1, max_size=12))
def test_keeps_first_and_last_and_hides_the_length(name):
    masked = mask_name(name)
    assert len(masked) <= 3 and masked.count("*") == 1 and masked[1] == "*"
    assert masked[0] == name[0]
    if len(name) >= 3:
        assert masked == name[0] + "*" + name[-1]
    else:
        assert masked == name[0] + "*"


@given(st.text(NAME_CHARS, min_size=3, max_size=12), st.text(NAME_CHARS, min_size=1, max_size=12))
def test_names_differing_only_inside_mask_alike(name, middle):
    # whatever stands between the first and last character (and however long it is) is not shown
    assert mask_name(name[0] + middle + name[-1]) == mask_name(name)
