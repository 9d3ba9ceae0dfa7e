"""Validation messages in Chinese. Pydantic writes its messages in English; the API answers Chinese clients
(``zh-CN``, its default) with these, chosen by the error's ``type`` and filled from its ``ctx``. A custom
validator refuses with :func:`invalid`, which carries its own Chinese."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic_core import PydanticCustomError

# The context member that carries a custom validator's Chinese message.
MESSAGE_ZH = "message_zh"


def invalid(message: str, *, zh: str) -> PydanticCustomError:
    """A custom validator's refusal in both languages: raise it where a ValueError would be raised. Its type
    stays ``value_error`` (the code clients already know); the English ``message`` is the error's ``msg``."""
    # The Chinese comes first in the context: pydantic fills the template key by key, in order, so the
    # message (which may quote the input) is put in last and never has a placeholder filled in after it.
    return PydanticCustomError("value_error", "{message}", {MESSAGE_ZH: zh, "message": message})


# By pydantic error type, with the placeholders of its context. Types that only arise from Python objects
# (never from a JSON body, a query string or a form) are here too, so that no message is left English.
MESSAGES_ZH: dict[str, str] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许提供该字段",
    "json_invalid": "不是合法的 JSON",
    "json_type": "JSON 输入须为字符串或字节",
    "invalid_key": "键必须是字符串",
    "none_required": "必须为空（null）",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "必须大于或等于 {ge}",
    "less_than": "必须小于 {lt}",
    "less_than_equal": "必须小于或等于 {le}",
    "multiple_of": "必须是 {multiple_of} 的倍数",
    "finite_number": "必须是有限的数字",
    "too_short": "至少需要 {min_length} 项，实际为 {actual_length} 项",
    "too_long": "最多只能有 {max_length} 项",
    "iterable_type": "必须是可迭代的值",
    "iteration_error": "无法逐项读取该值",
    "string_type": "必须是字符串",
    "string_unicode": "必须是合法的 Unicode 字符串",
    "string_too_short": "至少需要 {min_length} 个字符",
    "string_too_long": "最多只能有 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "string_not_ascii": "只能包含 ASCII 字符",
    "enum": "必须是以下值之一：{expected}",
    "literal_error": "必须是以下值之一：{expected}",
    "dict_type": "必须是对象",
    "frozen_dict_type": "必须是对象",
    "ordered_dict_type": "必须是对象",
    "counter_type": "必须是对象",
    "mapping_type": "必须是对象",
    "model_type": "必须是对象",
    "model_attributes_type": "必须是对象",
    "dataclass_type": "必须是对象",
    "dataclass_exact_type": "必须是对象",
    "list_type": "必须是数组",
    "tuple_type": "必须是数组",
    "named_tuple_type": "必须是数组",
    "set_type": "必须是数组",
    "frozen_set_type": "必须是数组",
    "deque_type": "必须是数组",
    "set_item_not_hashable": "集合中的元素无法比较",
    "bool_type": "必须是布尔值（true 或 false）",
    "bool_parsing": "必须是布尔值（true 或 false）",
    "int_type": "必须是整数",
    "int_parsing": "必须是整数",
    "int_parsing_size": "整数过大",
    "int_from_float": "必须是整数，不能带小数部分",
    "float_type": "必须是数字",
    "float_parsing": "必须是数字",
    "bytes_type": "必须是字节串",
    "bytes_too_short": "至少需要 {min_length} 个字节",
    "bytes_too_long": "最多只能有 {max_length} 个字节",
    "bytes_invalid_encoding": "不是合法的 {encoding} 编码",
    "value_error": "取值不合法",
    "assertion_error": "取值不合法",
    "date_type": "必须是日期",
    "date_parsing": "必须是 YYYY-MM-DD 格式的日期",
    "date_from_datetime_parsing": "必须是日期或日期时间",
    "date_from_datetime_inexact": "日期时间的时刻部分必须为零",
    "date_past": "必须是过去的日期",
    "date_future": "必须是将来的日期",
    "time_type": "必须是时间",
    "time_parsing": "时间格式不正确",
    "datetime_type": "必须是日期时间",
    "datetime_parsing": "必须是 ISO 8601 格式的日期时间",
    "datetime_object_invalid": "日期时间不合法",
    "datetime_from_date_parsing": "必须是日期时间或日期",
    "datetime_past": "必须是过去的时间",
    "datetime_future": "必须是将来的时间",
    "timezone_naive": "不能带时区信息",
    "timezone_aware": "必须带时区信息（UTC 偏移）",
    "timezone_offset": "时区偏移必须为 {tz_expected}，实际为 {tz_actual}",
    "time_delta_type": "必须是时长",
    "time_delta_parsing": "时长格式不正确",
    "union_tag_invalid": "{discriminator} 的值 '{tag}' 不是可选值之一：{expected_tags}",
    "union_tag_not_found": "缺少用于区分类型的 {discriminator}",
    "url_type": "必须是 URL 字符串",
    "url_parsing": "必须是合法的 URL",
    "url_syntax_violation": "URL 不符合语法规则",
    "url_too_long": "URL 最多只能有 {max_length} 个字符",
    "url_scheme": "URL 协议必须是 {expected_schemes}",
    "uuid_type": "必须是 UUID 字符串",
    "uuid_parsing": "必须是合法的 UUID",
    "uuid_version": "必须是第 {expected_version} 版 UUID",
    "decimal_type": "必须是数字或数字字符串",
    "decimal_parsing": "必须是合法的十进制数",
    "decimal_max_digits": "总位数不能超过 {max_digits} 位",
    "decimal_max_places": "小数位数不能超过 {decimal_places} 位",
    "decimal_whole_digits": "整数部分不能超过 {whole_digits} 位",
    "fraction_type": "必须是分数或数字",
    "fraction_parsing": "不是合法的分数",
    "complex_type": "必须是复数",
    "complex_str_parsing": "不是合法的复数字符串",
    "frozen_field": "该字段不能修改",
    "frozen_instance": "该对象不能修改",
    "is_instance_of": "类型不正确",
    "is_subclass_of": "类型不正确",
    "callable_type": "类型不正确",
    "no_such_attribute": "不存在该属性",
    "get_attribute_error": "无法读取该属性",
    "default_factory_not_called": "其他字段有误，未能生成默认值",
    "arguments_type": "参数必须是数组或对象",
    "missing_argument": "缺少必填参数",
    "unexpected_keyword_argument": "不允许提供该参数",
    "missing_keyword_only_argument": "缺少必填参数",
    "unexpected_positional_argument": "不允许提供该参数",
    "missing_positional_only_argument": "缺少必填参数",
    "multiple_argument_values": "参数重复提供",
    "missing_sentinel_error": "取值不合法",
    "ellipsis_error": "取值不合法",
    "needs_python_object": "取值不合法",
    "recursion_loop": "数据中存在循环引用",
    "recursion_depth_exceeded": "数据嵌套过深",
}
_UNKNOWN_ZH = "取值不合法"
# Pydantic lists choices as "'a', 'b' or 'c'"; Chinese lists them with the enumeration comma.
_CHOICE_SEPARATOR = re.compile(r"', '|' or '")


def validation_message_zh(error: Mapping[str, Any]) -> str:
    """The Chinese for one of pydantic's errors (an item of ``ValidationError.errors()``)."""
    context: dict[str, Any] = dict(error.get("ctx") or {})
    if MESSAGE_ZH in context:
        return str(context[MESSAGE_ZH])
    for choices in ("expected", "expected_tags", "expected_schemes"):
        if isinstance(context.get(choices), str):
            context[choices] = _CHOICE_SEPARATOR.sub("'、'", context[choices])
    template = MESSAGES_ZH.get(str(error.get("type")), _UNKNOWN_ZH)
    try:
        return template.format_map(context)
    except (KeyError, IndexError, ValueError):  # a context without the placeholder's member
        return _UNKNOWN_ZH
