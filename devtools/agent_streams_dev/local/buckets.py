"""The template's S3 buckets, made at an AWS endpoint as CloudFormation would make them.

Each ``AWS::S3::Bucket`` is created (if missing) and given the template's encryption,
public access block, object ownership, lifecycle rules and bucket policy, translated
from CloudFormation's property names to the S3 API's, so the configuration the template
declares is one the S3 API accepts, and the runtime works inside it. moto does not expire
objects; its policies ignore conditions (so a policy's conditioned statements, the
template's TLS-only one, are left out here: local endpoints speak plain HTTP).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agent_streams_dev.local.cfn import NO_VALUE
from agent_streams_dev.local.template import Template


def bucket_name(stack_name: str, logical_id: str) -> str:
    """A local bucket's name: lower case, as S3 wants it."""
    return f"{stack_name}-{logical_id}".lower()


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


def ensure_buckets(
    template: Template,
    s3: Any,
    *,
    stack_name: str,
    region: str,
    parameters: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create (or find) the template's buckets and configure them; their names by logical id."""
    names = {logical_id: bucket_name(stack_name, logical_id) for logical_id in template.buckets()}
    arns = {logical_id: bucket_arn(name) for logical_id, name in names.items()}
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for logical_id, props in template.buckets(parameters).items():
        name = names[logical_id]
        if name not in existing:
            kwargs: dict[str, Any] = {"Bucket": name}
            if region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            s3.create_bucket(**kwargs)
        configure_bucket(s3, name, props)
    for props in template.bucket_policies(parameters).values():
        logical_id = str(props["Bucket"])
        document = _arns(props["PolicyDocument"], arns)
        # moto applies a statement ignoring its conditions, so the template's "deny
        # without TLS" would deny everything; and local endpoints speak plain HTTP,
        # which S3 would refuse under it too. Conditioned statements stay AWS's.
        document["Statement"] = [s for s in document["Statement"] if "Condition" not in s]
        if document["Statement"]:
            s3.put_bucket_policy(Bucket=names[logical_id], Policy=json.dumps(document))
    return names


def configure_bucket(s3: Any, name: str, props: Mapping[str, Any]) -> None:
    """Apply a bucket's CloudFormation properties with the S3 API."""
    encryption = props.get("BucketEncryption")
    if encryption:
        rules = []
        for rule in encryption["ServerSideEncryptionConfiguration"]:
            found: dict[str, Any] = {
                "ApplyServerSideEncryptionByDefault": dict(rule["ServerSideEncryptionByDefault"])
            }
            if "BucketKeyEnabled" in rule:
                found["BucketKeyEnabled"] = _bool(rule["BucketKeyEnabled"])
            rules.append(found)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    block = props.get("PublicAccessBlockConfiguration")
    if block:
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={k: _bool(v) for k, v in block.items()},
        )
    ownership = props.get("OwnershipControls")
    if ownership:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=dict(ownership))
    lifecycle = props.get("LifecycleConfiguration")
    if lifecycle:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name,
            LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in lifecycle["Rules"]]},
        )


def _lifecycle_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule as the S3 API writes it."""
    found: dict[str, Any] = {"Status": rule["Status"]}
    if "Id" in rule:
        found["ID"] = rule["Id"]
    found["Filter"] = {"Prefix": str(rule.get("Prefix", ""))}
    if "ExpirationInDays" in rule:
        found["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    abort = rule.get("AbortIncompleteMultipartUpload")
    if abort:
        found["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(abort["DaysAfterInitiation"])
        }
    return found


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _arns(value: Any, arns: Mapping[str, str]) -> Any:
    """A policy document with the buckets' ``!GetAtt X.Arn`` and ``!Sub "${X.Arn}/…"``
    resolved to local ARNs."""
    if isinstance(value, list):
        return [_arns(item, arns) for item in value if item is not NO_VALUE]
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            if attribute == "Arn" and logical_id in arns:
                return arns[logical_id]
            raise ValueError(f"cannot resolve !GetAtt {logical_id}.{attribute} locally")
        if set(value) == {"Fn::Sub"}:
            text = str(value["Fn::Sub"])
            for logical_id, arn in arns.items():
                text = text.replace("${" + logical_id + ".Arn}", arn)
            if "${" in text:
                raise ValueError(f"cannot resolve !Sub {value['Fn::Sub']!r} locally")
            return text
        return {k: _arns(v, arns) for k, v in value.items()}
    return value
