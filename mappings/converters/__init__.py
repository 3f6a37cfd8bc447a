"""Value converters shared by every layout, looked up by name from layout files."""

from mappings.converters import codes, dates, numbers, text  # noqa: F401  (registers the built-ins)
from mappings.converters.base import CONVERTERS, Converter, FieldContext, Param, register
from mappings.converters.codes import Code, Constant, Filler, code_tables
from mappings.converters.dates import Date, YearMonth
from mappings.converters.numbers import Amount, Number
from mappings.converters.text import Digits, Text

__all__ = [
    "CONVERTERS", "Amount", "Code", "Constant", "Converter", "Date", "Digits", "FieldContext",
    "Filler", "Number", "Param", "Text", "YearMonth", "code_tables", "register",
]
