"""mypy plugin: calling a factory-boy factory class returns the model it builds.

factory-boy's ``FactoryMetaClass.__call__`` turns ``LeadFactory(...)`` into
``LeadFactory.create(...)`` (or ``build``/``stub``, per ``Meta.strategy``), but
mypy types a class call from ``__init__``/``__new__`` and never consults a
metaclass ``__call__``, so it concludes that the call builds a ``LeadFactory``.
For every subclass of ``factory.base.BaseFactory[T]`` this plugin replaces the
return type of the call with ``T``, the same type ``create()``/``build()``
already return (``class LeadFactory(DjangoModelFactory[Lead])`` -> ``Lead``).
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.maptype import map_instance_to_supertype
from mypy.nodes import TypeInfo
from mypy.plugin import FunctionContext, Plugin
from mypy.types import Instance, Type, TypeVarLikeType, get_proper_type

BASE_FACTORY = "factory.base.BaseFactory"


def _factory_call_type(ctx: FunctionContext) -> Type:
    factory_type = get_proper_type(ctx.default_return_type)
    if not isinstance(factory_type, Instance):
        return ctx.default_return_type
    base = next((b for b in factory_type.type.mro if b.fullname == BASE_FACTORY), None)
    if base is None:
        return ctx.default_return_type
    (model_type,) = map_instance_to_supertype(factory_type, base).args
    if isinstance(get_proper_type(model_type), TypeVarLikeType):
        # An abstract, still generic factory base: nothing better to say.
        return ctx.default_return_type
    return model_type


class FactoryBoyPlugin(Plugin):
    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        symbol = self.lookup_fully_qualified(fullname)
        node = symbol.node if symbol is not None else None
        if isinstance(node, TypeInfo) and node.has_base(BASE_FACTORY):
            return _factory_call_type
        return None


def plugin(version: str) -> type[Plugin]:
    return FactoryBoyPlugin
