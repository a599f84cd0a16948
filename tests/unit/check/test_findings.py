from retrobatch.findings import CATALOGUE, finding, has_errors


def test_severity_comes_from_the_catalogue() -> None:
    assert finding("csv.bom", "a.csv", "m").severity == "warning"
    assert finding("csv.empty", "a.csv", "m").severity == "error"


def test_has_errors_ignores_warnings() -> None:
    assert not has_errors([finding("csv.blank-line", "a.csv", "m", 3)])
    assert has_errors([finding("csv.blank-line", "a.csv", "m"), finding("csv.empty", "a", "m")])


def test_every_code_is_namespaced() -> None:
    assert all(
        code.split(".")[0] in {"config", "manifest", "csv", "repo", "receipt"} for code in CATALOGUE
    )
