"""Values files: generate (`new`), edit (`set`/`unset`) and validate them against the airflow chart."""

from .chart import Chart, ChartNotFound, repo_root
from .edit import EditError, EditResult, edit_file
from .inputs import ValuesInput
from .problems import Problem
from .validate import check_documents, validate_files

__all__ = [
    "Chart", "ChartNotFound", "repo_root", "EditError", "EditResult", "edit_file", "Problem",
    "check_documents", "validate_files", "ValuesInput",
]
