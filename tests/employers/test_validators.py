import pytest

from employers.validators import fiscal_code_is_valid, vat_number_is_valid


@pytest.mark.parametrize(
    "value,valid",
    [
        ("01234560934", True),
        ("00743110157", True),  # a real-world format example with a valid check digit
        ("01234560935", False),  # wrong check digit
        ("0123456093", False),  # 10 digits
        ("0123456093A", False),
        ("00000000000", False),
        ("", False),
    ],
)
def test_vat_number(value, valid):
    assert vat_number_is_valid(value) is valid


@pytest.mark.parametrize(
    "value,valid",
    [
        ("RSSMRA80A01H501U", True),
        ("rssmra80a01h501u", True),
        ("RSSMRA80A01H501X", False),
        ("RSSMRA80A01H50", False),
        ("01234560934", True),
        ("01234560935", False),
    ],
)
def test_fiscal_code(value, valid):
    assert fiscal_code_is_valid(value) is valid
