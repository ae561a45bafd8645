"""CloudFormation's condition functions and parameters, as far as the local stack needs
them to read what the template decides at deploy time: which resources exist
(``Condition``), which route is behind which authorizer (``Fn::If``), and whether a
combination of parameters is allowed at all (``Rules``).

The condition functions are evaluated; functions of deployed values (``Fn::GetAtt``,
``Fn::Sub``…) are left as they are, since the local stack wires what they stand for
itself. A reference it cannot resolve is an error naming it, so a template change
that needs more fails loudly here rather than being read wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TemplateError(ValueError):
    """The template (or the parameters given to it) cannot be read as CloudFormation would."""


class _NoValue:
    """``!Ref AWS::NoValue``: the property is left out."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


def parameter_values(
    declared: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Each parameter's value, from ``overrides`` or its default, typed as CloudFormation
    types it (a ``CommaDelimitedList`` is a list; a missing value without default is an error)."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(declared)
    if unknown:
        raise TemplateError(f"the template has no parameter {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in overrides:
            raw: Any = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no default: give it a value")
        raw = str(raw)
        allowed = spec.get("AllowedValues")
        if allowed is not None and raw not in [str(a) for a in allowed]:
            raise TemplateError(f"parameter {name}: {raw!r} is not one of {allowed}")
        if spec.get("Type") == "CommaDelimitedList":
            values[name] = [item.strip() for item in raw.split(",")]
        else:
            values[name] = raw
    return values


class Evaluator:
    """Resolves intrinsic functions against parameter values and the template's conditions."""

    def __init__(
        self,
        parameters: Mapping[str, Any],
        conditions: Mapping[str, Any],
        resource_ids: frozenset[str] = frozenset(),
    ) -> None:
        self.parameters = dict(parameters)
        self._condition_defs = dict(conditions)
        self._conditions: dict[str, bool] = {}
        self._resource_ids = resource_ids

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self._condition_defs:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = False  # a cycle reads as false rather than recursing
            self._conditions[name] = self._truth(self.resolve(self._condition_defs[name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict) or len(value) != 1:
            if isinstance(value, dict):
                return {k: self.resolve(v) for k, v in value.items()}
            return value
        ((name, argument),) = value.items()
        if name == "Ref":
            return self._ref(str(argument))
        if name == "Condition":
            return self.condition(str(argument))
        if name == "Fn::If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.condition(str(condition)) else if_false)
        if name == "Fn::Equals":
            left, right = (self.resolve(a) for a in argument)
            return _scalar(left) == _scalar(right)
        if name == "Fn::Not":
            (inner,) = argument
            return not self._truth(self.resolve(inner))
        if name == "Fn::And":
            return all(self._truth(self.resolve(a)) for a in argument)
        if name == "Fn::Or":
            return any(self._truth(self.resolve(a)) for a in argument)
        if name == "Fn::Contains":
            haystack, needle = (self.resolve(a) for a in argument)
            return _scalar(needle) in [_scalar(v) for v in haystack]
        if name == "Fn::EachMemberEquals":
            members, expected = (self.resolve(a) for a in argument)
            return all(_scalar(m) == _scalar(expected) for m in members)
        if name == "Fn::EachMemberIn":
            members, allowed = (self.resolve(a) for a in argument)
            return all(_scalar(m) in [_scalar(a) for a in allowed] for m in members)
        if name == "Fn::Join":
            separator, items = argument
            return str(separator).join(str(self.resolve(i)) for i in self.resolve(items))
        # Functions of deployed values (Fn::GetAtt, Fn::Sub…) stay as they are: what
        # they stand for is wired by the local stack itself.
        return {name: self.resolve(argument)}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self._resource_ids:
            return name  # a resource's Ref stands for the resource: its logical id
        raise TemplateError(f"cannot resolve !Ref {name} locally")

    @staticmethod
    def _truth(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        raise TemplateError(f"{value!r} is not a condition's value")

    def failed_rules(self, rules: Mapping[str, Any]) -> list[str]:
        """The ``AssertDescription`` (or name) of each rule whose assertions fail."""
        failed = []
        for name, rule in rules.items():
            applies = rule.get("RuleCondition")
            if applies is not None and not self._truth(self.resolve(applies)):
                continue
            for assertion in rule.get("Assertions", []):
                if not self._truth(self.resolve(assertion["Assert"])):
                    failed.append(str(assertion.get("AssertDescription", name)))
        return failed


def _scalar(value: Any) -> Any:
    return value if isinstance(value, list) else str(value)
