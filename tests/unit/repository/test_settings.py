from pathlib import Path

from retrobatch.repository.settings import load_settings, parse_settings
from support.repo_factory import SETTINGS


def test_placeholder_settings_of_this_repository_load() -> None:
    settings, problems = load_settings(Path(__file__).parents[3])
    assert problems == []
    assert settings is not None and settings.destination(12345) is not None


def test_event_type_keys_read_the_same_quoted_or_not() -> None:
    settings, problems = parse_settings(SETTINGS)
    assert problems == []
    assert settings is not None
    assert settings.destination(67890).app is True  # unquoted key in SETTINGS
    assert settings.destination("12345").name == "Online Sale"
    assert settings.reason_codes(12345) == ("PRICE_MATCH",)


def test_cc_domain_matches_exactly_ignoring_case() -> None:
    settings, _ = parse_settings(SETTINGS)
    assert settings is not None
    assert settings.cc_allowed("finance@BRAND.example")
    assert not settings.cc_allowed("finance@eu.brand.example")
    assert not settings.cc_allowed("x@brand.example.evil")


def test_missing_file_is_config_syntax(tmp_path: Path) -> None:
    settings, [problem] = load_settings(tmp_path)
    assert settings is None
    assert problem.code == "config.syntax"
    assert "not found" in problem.message


def test_unknown_key_is_a_schema_error_with_its_line() -> None:
    settings, [problem] = parse_settings(SETTINGS + "recipients: [x@y.example]\n")
    assert settings is None
    assert problem.code == "config.schema"
    assert "recipients" in problem.message
    assert problem.line == SETTINGS.count("\n") + 1


def test_bad_destination_address_names_the_field() -> None:
    text = SETTINGS.replace("a1b2c3@inbound.example", "not-an-address")
    settings, problems = parse_settings(text)
    assert settings is None
    assert any("destinations.12345.address" in p.message for p in problems)
    assert all(p.line == 4 for p in problems)


def test_broken_yaml_and_empty_file() -> None:
    assert parse_settings("version: [1\n")[1][0].code == "config.syntax"
    assert parse_settings("")[1][0].code == "config.syntax"
    assert parse_settings("- a\n- b\n")[1][0].code == "config.schema"
