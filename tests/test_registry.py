import pytest

from active_learning._registry import Registry, UnknownNameError


def test_register_and_get():
    reg = Registry("widget")

    @reg.register("alpha")
    def alpha():
        return 1

    assert reg.get("alpha") is alpha
    assert "alpha" in reg and reg.names() == ["alpha"] and len(reg) == 1


def test_unknown_name_lists_names_and_suggests():
    reg = Registry("widget")
    reg.register("entropy")(lambda: None)
    reg.register("random")(lambda: None)
    with pytest.raises(UnknownNameError) as info:
        reg.get("entropi")
    message = str(info.value)
    assert "unknown widget 'entropi'" in message and "Did you mean 'entropy'" in message and "random" in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_duplicate_registration_warns():
    reg = Registry("widget")
    reg.register("a")(lambda: 1)
    with pytest.warns(UserWarning, match="already registered"):
        reg.register("a")(lambda: 2)
