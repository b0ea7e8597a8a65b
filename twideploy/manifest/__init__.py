"""The manifest language: loading, checking and compiling a twideploy project.

See docs/manifests.md for the syntax. The engine needs only what is re-exported here plus
`twideploy.manifest.references` (compile/decompile of flows) and
`twideploy.manifest.validation` (validate_project, check_flow).
"""

from twideploy.manifest.loader import analyze, load_project
from twideploy.manifest.project import (
    Binding,
    CodeFile,
    Credentials,
    Environment,
    FlowSource,
    Project,
    ServiceEnvironment,
    ServiceSource,
)
from twideploy.manifest.references import (
    UNKNOWN,
    AddressBook,
    FlowAddress,
    FlowRef,
    FunctionAddress,
    FunctionRef,
    Target,
    UrlTarget,
    compile_flow,
    decompile_flow,
    format_target,
    parse_target,
)
from twideploy.manifest.validation import check_flow, validate_project

__all__ = [
    "UNKNOWN",
    "AddressBook",
    "Binding",
    "CodeFile",
    "Credentials",
    "Environment",
    "FlowAddress",
    "FlowRef",
    "FlowSource",
    "FunctionAddress",
    "FunctionRef",
    "Project",
    "ServiceEnvironment",
    "ServiceSource",
    "Target",
    "UrlTarget",
    "analyze",
    "check_flow",
    "compile_flow",
    "decompile_flow",
    "format_target",
    "load_project",
    "parse_target",
    "validate_project",
]
