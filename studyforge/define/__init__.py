"""Define-XML 2.1 and its HTML view, from the spec and what was actually written.

Flow: DatasetInfo (info.py) + Spec -> DefineModel (model.py) -> define.xml (xml.py) / define.html (html.py);
validate_define (XSD, offline) and check_define_against_data (define vs XPT files) check the result.
"""

from studyforge.define.check import check_define_against_data
from studyforge.define.info import (
                                    DatasetInfo,
                                    VariableInfo,
                                    dataset_info,
                                    dataset_info_from_meta,
                                    dataset_info_from_xpt,
                                    package_infos,
)
from studyforge.define.model import DefineError, DefineModel, build_model, metadata_version_oid, study_oid
from studyforge.define.xml import build_define, validate_define, validate_define_bytes, write_define

__all__ = [
    "DatasetInfo", "VariableInfo", "dataset_info", "dataset_info_from_meta", "dataset_info_from_xpt", "package_infos",
    "DefineError", "DefineModel", "build_model", "metadata_version_oid", "study_oid",
    "build_define", "write_define", "validate_define", "validate_define_bytes", "check_define_against_data",
]
