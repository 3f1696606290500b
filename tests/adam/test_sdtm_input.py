"""ADaM reads only the SDTM datasets its spec uses (issue 13: a non-ASCII TS stopped the ADaM stage)."""

from __future__ import annotations

import pytest

from adam.pipeline import derive_adam
from adam.sdtm_input import SdtmReadError, read_sdtm_folder
from tests.adam.test_pipeline import sdtm, spec
from tests.adam.test_pipeline_command import write_sdtm


def test_unreadable_dataset_the_spec_never_uses_does_not_stop_adam(tmp_path):
    write_sdtm(tmp_path, sdtm())
    (tmp_path / "ts.xpt").write_bytes(b"not an XPT file \xe9\xe8 " * 20)  # broken / non-ASCII TS
    folder = read_sdtm_folder(tmp_path)
    assert "TS" in folder and len(folder) == len(sdtm()) + 1
    out, findings = derive_adam(folder, spec(with_adrs=False))
    assert set(out) == {"ADSL", "ADTTE"}
    assert "TS" not in folder.read() and "DM" in folder.read()
    with pytest.raises(SdtmReadError, match="ts.xpt"):
        folder["TS"]  # a dataset that IS needed and cannot be read is one located message
