"""The tables of benchmarks/quality.py: bundled ones (scikit-learn, plotly, statsmodels) and
tables generated here, deterministically (fixed numpy seeds), each for one situation the engine
meets in people's files. Nothing is downloaded: `fetch_*` loaders are not used.

Every builder returns a DataFrame; quality.py writes it to a CSV (the form people hand to the
bot) and every system reads that file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Dataset:
    name: str
    target: str
    about: str  # one line: where it comes from and what it tests
    build: Callable[[], pd.DataFrame] | None = None
    file: Path | None = None  # a file in the repository, used as it is
    sep: str = ","  # the delimiter a person would pass to pd.read_csv for this file


# ---- scikit-learn (bundled with the package) ---------------------------------------------------


def _sklearn_frame(loader: Callable[..., Any]) -> pd.DataFrame:
    return loader(as_frame=True).frame


def breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return _sklearn_frame(load_breast_cancer)


def wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    return _sklearn_frame(load_wine)


def digits() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    return _sklearn_frame(load_digits)


def diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    return _sklearn_frame(load_diabetes)


def iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame.drop(columns=["target"])
    frame["species"] = np.asarray(bunch.target_names)[bunch.target.to_numpy()]
    return frame


# ---- plotly.data (CSV files shipped inside plotly) ----------------------------------------------


def tips() -> pd.DataFrame:
    import plotly.data

    return plotly.data.tips()


def gapminder() -> pd.DataFrame:
    """Life expectancy from country (142 levels), continent, year, population, GDP per head.

    iso_alpha and iso_num are the country again under other names: left out.
    """
    import plotly.data

    return plotly.data.gapminder().drop(columns=["iso_alpha", "iso_num"])


# ---- statsmodels.datasets (bundled with the package) ---------------------------------------------


def _statsmodels(name: str) -> pd.DataFrame:
    import importlib

    module = importlib.import_module(f"statsmodels.datasets.{name}")
    return module.load_pandas().data.copy()


def fair() -> pd.DataFrame:
    """Fair's affairs survey (1974): did the wife have an affair? (yes/no from the hours)."""
    frame = _statsmodels("fair")
    frame["had_affair"] = np.where(frame.pop("affairs") > 0, "yes", "no")
    return frame


def anes96() -> pd.DataFrame:
    """1996 US election survey: voted Clinton or Dole, from party id, ideology, age, income."""
    frame = _statsmodels("anes96")
    frame["vote"] = np.where(frame["vote"] > 0, "Dole", "Clinton")
    return frame


def star98() -> pd.DataFrame:
    """California school districts (1998): the share of pupils above the national maths median."""
    frame = _statsmodels("star98")
    above, below = frame.pop("NABOVE"), frame.pop("NBELOW")
    frame["share_above"] = (above / (above + below)).round(5)
    return frame


def grunfeld() -> pd.DataFrame:
    """Grunfeld's investment panel: 11 firms × 20 years; firm is a text column."""
    return _statsmodels("grunfeld")


def randhie() -> pd.DataFrame:
    """RAND health insurance experiment: doctor visits (a skewed count), insurance, health."""
    return _statsmodels("randhie")


# ---- generated tables ----------------------------------------------------------------------------


def _with_missing(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    out = values.astype(object)
    out[rng.random(len(out)) < share] = None
    return out


def _random_ids(rng: np.random.Generator, rows: int, start: int) -> np.ndarray:
    """Unique integer identifiers in random order: no signal, and not a run like 1..n."""
    return start + rng.choice(rows * 20, size=rows, replace=False)


def _intercept_for(logit: np.ndarray, rate: float) -> float:
    """The shift that makes the mean of sigmoid(logit + shift) equal `rate` (bisection)."""
    low, high = -30.0, 30.0
    for _ in range(100):
        mid = (low + high) / 2
        if np.mean(1 / (1 + np.exp(-(logit + mid)))) > rate:
            high = mid
        else:
            low = mid
    return (low + high) / 2


def churn_dates(rows: int = 4000) -> pd.DataFrame:
    """A subscription export: an id, a signup date whose month matters, gaps in categoricals."""
    rng = np.random.default_rng(11)
    signup = [date(2020, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 1095, rows)]
    month = np.array([d.month for d in signup])
    plan = rng.choice(["Basic", "Standard", "Premium", "Enterprise"], rows, p=[0.4, 0.3, 0.2, 0.1])
    payment = rng.choice(["card", "bank transfer", "paypal", "invoice"], rows)
    region = rng.choice(["North", "South", "East", "West", "Central", "Islands"], rows)
    tenure = rng.integers(1, 72, rows)
    spend = np.round(rng.gamma(4.0, 15.0, rows), 2)
    tickets = rng.poisson(1.2, rows)
    seats = rng.integers(1, 50, rows)
    logit = (
        -0.8
        + 1.4 * np.isin(month, [11, 12])  # holiday-promotion signups leave
        - 0.7 * np.isin(month, [6, 7])
        + 0.6 * (plan == "Basic")
        - 0.5 * (plan == "Enterprise")
        + 0.5 * (payment == "invoice")
        - 0.035 * tenure
        + 0.4 * tickets
        + 0.006 * (spend - 60)
        - 0.01 * seats
    )
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    spend_with_gaps = np.where(rng.random(rows) < 0.05, np.nan, spend)
    return pd.DataFrame(
        {
            "customer_id": _random_ids(rng, rows, 100_000),
            "signup_date": [d.isoformat() for d in signup],
            "plan": _with_missing(rng, plan, 0.04),
            "payment_method": _with_missing(rng, payment, 0.03),
            "region": _with_missing(rng, region, 0.05),
            "tenure_months": tenure,
            "monthly_spend": spend_with_gaps,
            "support_tickets": tickets,
            "seats": seats,
            "churned": np.where(churned, "yes", "no"),
        }
    )


def sales_dates(rows: int = 3000) -> pd.DataFrame:
    """Daily sales lines: an order id, a date with weekday and trend effects, stores, promos."""
    rng = np.random.default_rng(23)
    day = rng.integers(0, 730, rows)
    dates = pd.to_datetime("2022-01-01") + pd.to_timedelta(day, unit="D")
    weekday = np.asarray(dates.day_of_week)
    stores = np.array([f"S{i:02d}" for i in range(1, 9)])
    store_base = dict(zip(stores, rng.uniform(80, 220, len(stores)), strict=True))
    store = rng.choice(stores, rows)
    category = rng.choice(["grocery", "drinks", "home", "toys", "garden"], rows)
    category_factor = {"grocery": 1.0, "drinks": 0.7, "home": 1.3, "toys": 0.9, "garden": 1.1}
    promo = rng.random(rows) < 0.25
    price = np.round(rng.uniform(2, 40, rows), 2)
    weekday_factor = np.array([0.85, 0.9, 0.95, 1.0, 1.15, 1.5, 1.35])[weekday]
    season = 1 + 0.12 * np.sin(2 * np.pi * (np.asarray(dates.day_of_year) - 80) / 365)
    revenue = (
        np.array([store_base[s] for s in store])
        * np.array([category_factor[c] for c in category])
        * (1 + 0.0012 * day)  # the business grows: a trend over the two years
        * weekday_factor
        * season
        * np.where(promo, 1.25, 1.0)
        * (1 - 0.004 * price)
        * rng.lognormal(0, 0.08, rows)
    )
    return pd.DataFrame(
        {
            "order_id": _random_ids(rng, rows, 5_000_000),
            "date": dates.strftime("%Y-%m-%d"),
            "store": store,
            "category": _with_missing(rng, category, 0.03),
            "promo": np.where(promo, "yes", "no"),
            "price": np.where(rng.random(rows) < 0.03, np.nan, price),
            "revenue": np.round(revenue, 2),
        }
    )


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "Anna Ben Clara David Emma Felix Greta Hugo Ida Jonas Karla Leon Mia Noah Olga Paul Rosa "
    "Sami Tara Umut Vera Wim Xenia Yusuf Zoe Aaron Bianca Carlos Dana Elif Farid Gina Hanna "
    "Igor Jana Kemal Lina Marek Nina Oskar Pia Rafael Sofia Timo Ulla Viktor Wanda Yara Zeno "
    "Alma Bruno Cem Dora Erik Fiona Georg Helga Ilias Jule Kai Lotte Mats Nele Otto"
)
LAST_NAMES = _words(
    "Abel Bauer Costa Dietrich Eriksen Fischer Garcia Hoffmann Ivanova Jansen Keller Lang Meyer "
    "Novak Olsen Peters Quint Richter Schmidt Tanaka Ulrich Vogel Weber Yilmaz Zimmer Albrecht "
    "Berger Chen Dahl Engel Frank Graf Hartmann Horn Jung Kaiser Koch Krause Lorenz Moser "
    "Nowak Otto Pohl Roth Sauer Schulz Stein Thomsen Urban Vidal Wolf Brandt Conti Duarte "
    "Ebert Fuchs Gross Haas Iversen Jakobs Kuhn Lehmann Marx Neumann Ott Popescu Rossi Sommer "
    "Seidel Tamm Unger Voigt Walter Winkler Ziegler"
)


def entity_names(rows: int = 15_000, reps: int = 3_000) -> pd.DataFrame:
    """Deals of 3,000 sales reps named by text (each rep 5 deals): who sells carries the value.

    The rep's skill explains about three quarters of the deal value's variance; the numbers and
    the segment the rest. A model that sees a rep's name as an entity (target/frequency
    encoding, or a learned embedding) can use it; one that treats names as noise cannot.
    """
    rng = np.random.default_rng(41)
    pairs = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
    chosen = rng.choice(len(pairs), size=reps, replace=False)
    names = np.array([f"{pairs[i][0]} {pairs[i][1]}" for i in chosen])
    skill = rng.normal(0, 1, reps)
    rep = rng.permutation(np.repeat(np.arange(reps), rows // reps))
    segment = rng.choice(["SMB", "Mid-Market", "Enterprise", "Public", "Partner"], rows)
    segment_effect = {"SMB": -6, "Mid-Market": 0, "Enterprise": 9, "Public": 3, "Partner": -2}
    units = rng.integers(1, 60, rows)
    discount = np.round(rng.uniform(0, 0.3, rows), 3)
    days_open = rng.integers(3, 180, rows)
    value = (
        100
        + 30 * skill[rep]
        + 6 * np.log(units)
        - 25 * discount
        - 0.04 * days_open
        + np.array([segment_effect[s] for s in segment])
        + rng.normal(0, 10, rows)
    )
    return pd.DataFrame(
        {
            "sales_rep": names[rep],
            "segment": segment,
            "units": units,
            "discount": np.where(rng.random(rows) < 0.03, np.nan, discount),
            "days_open": days_open,
            "deal_value_k": np.round(value, 2),
        }
    )


def group_code(rows: int = 4000) -> pd.DataFrame:
    """An integer `account_id` that looks like an identifier but whose hundreds are the branch.

    account_id // 100 is one of 40 branches with different default rates (the signal);
    `record_id` is a truly random unique id (no signal). A model that drops every id-like
    integer loses most of what can be learnt here.
    """
    rng = np.random.default_rng(53)
    branches = np.arange(10, 50)
    branch_logit = rng.normal(0, 1.4, len(branches))
    branch = rng.choice(len(branches), rows)
    account_id = branches[branch] * 100 + rng.integers(0, 100, rows)
    balance = np.round(rng.lognormal(7.5, 1.0, rows), 2)
    tenure = rng.integers(1, 120, rows)
    channel = rng.choice(["branch", "online", "phone"], rows, p=[0.5, 0.35, 0.15])
    logit = (
        -1.6
        + branch_logit[branch]
        - 0.004 * tenure
        + 0.15 * (np.log(balance) - 7.5)
        + 0.2 * (channel == "phone")
    )
    defaulted = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "record_id": _random_ids(rng, rows, 700_000),
            "account_id": account_id,
            "balance": balance,
            "tenure_months": tenure,
            "channel": channel,
            "defaulted": np.where(defaulted, "yes", "no"),
        }
    )


def mixed_80(rows: int = 2200) -> pd.DataFrame:
    """80 mixed columns (62 numbers, 8 counts, 10 categories, gaps); 10 of them drive the target.

    The target mixes a sine, a square, a threshold, an interaction, a category's effect and a
    count's logarithm; the other 70 columns (some correlated with the useful ones) are noise.
    """
    rng = np.random.default_rng(67)
    latent = rng.normal(0, 1, (rows, 8))
    numbers = np.empty((rows, 62))
    for j in range(62):  # a third of the numbers echo a latent factor; the rest are noise
        if j % 3 == 0:
            numbers[:, j] = latent[:, j % 8] + rng.normal(0, 0.6, rows)
        else:
            numbers[:, j] = rng.normal(0, 1, rows) * rng.uniform(0.5, 20) + rng.uniform(-5, 50)
    counts = rng.poisson(rng.uniform(0.5, 8, 8), (rows, 8))
    levels = [3, 4, 5, 6, 8, 10, 12, 15, 20, 25]
    categories = [
        rng.choice([f"{chr(65 + k)}{i}" for i in range(n)], rows) for k, n in enumerate(levels)
    ]
    x = numbers
    region_effect = rng.normal(0, 1.2, levels[2])
    region_code = np.array([int(v[1:]) for v in categories[2]])
    y = (
        3.0 * np.sin(1.5 * x[:, 0])
        + 1.2 * x[:, 3] ** 2
        + 2.5 * (x[:, 6] > 0.5)
        + 1.5 * x[:, 9] * x[:, 12]
        + np.abs(x[:, 15]) * 1.0
        + region_effect[region_code]
        + 1.5 * (categories[5] == "F3")
        + 0.8 * np.log1p(counts[:, 1])
        - 0.05 * (x[:, 1] - x[:, 1].mean())  # a wide-scaled noise column with a small slope
        + rng.normal(0, 1.0, rows)
    )
    frame = pd.DataFrame({f"num_{j:02d}": np.round(numbers[:, j], 4) for j in range(62)})
    for j in range(8):
        frame[f"count_{j}"] = counts[:, j]
    for k, values in enumerate(categories):
        frame[f"cat_{k}"] = values
    for column in rng.choice(frame.columns, 20, replace=False):  # gaps in 20 columns
        share = rng.uniform(0.02, 0.12)
        frame[column] = frame[column].mask(rng.random(rows) < share)
    frame["target"] = np.round(y, 4)
    return frame


def wide_784(rows: int = 5000) -> pd.DataFrame:
    """28×28 'images': sklearn's 8×8 digits upsampled, shifted, rescaled and noised; 10 classes."""
    from scipy.ndimage import shift, zoom
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(79)
    bunch = load_digits()
    pick = rng.choice(len(bunch.target), rows)
    pixels = np.empty((rows, 784), dtype=np.int16)
    for i, k in enumerate(pick):
        image = zoom(bunch.images[k] / 16.0, 3.0, order=1)  # 24×24
        canvas = np.zeros((28, 28))
        canvas[2:26, 2:26] = image
        canvas = shift(canvas, rng.integers(-2, 3, 2), order=0)
        canvas = canvas * rng.uniform(0.6, 1.0) + rng.normal(0, 0.08, (28, 28))
        pixels[i] = np.clip(np.round(canvas * 255), 0, 255).reshape(-1)
    frame = pd.DataFrame(pixels, columns=[f"px{j}" for j in range(784)])
    frame["digit"] = bunch.target[pick]
    return frame


def imbalanced(rows: int = 5000) -> pd.DataFrame:
    """Card payments, about 3 % fraud: few positives, categories and skewed amounts."""
    rng = np.random.default_rng(97)
    merchants = ["grocery", "fuel", "travel", "electronics", "fashion", "gaming", "pharmacy"]
    merchant = rng.choice(merchants, rows, p=[0.3, 0.15, 0.1, 0.1, 0.15, 0.1, 0.1])
    country = rng.choice(["DE", "FR", "NL", "PL", "US", "GB", "other"], rows)
    amount = np.round(rng.lognormal(3.5, 1.1, rows), 2)
    hour = rng.integers(0, 24, rows)
    card_age = rng.integers(1, 3000, rows)
    tx_24h = rng.poisson(2, rows)
    online = rng.random(rows) < 0.4
    logit = (
        0.9 * np.isin(merchant, ["electronics", "gaming"])
        + 0.8 * (country == "other")
        + 0.6 * (np.log(amount) - 3.5)
        + 1.0 * ((hour <= 4) | (hour >= 23))
        - 0.9 * np.log(card_age / 100 + 1)
        + 0.35 * tx_24h
        + 0.8 * online
    )
    fraud = rng.random(rows) < 1 / (1 + np.exp(-(logit + _intercept_for(logit, 0.03))))
    return pd.DataFrame(
        {
            "merchant": _with_missing(rng, merchant, 0.02),
            "country": country,
            "amount": amount,
            "hour": hour,
            "card_age_days": card_age,
            "tx_last_24h": tx_24h,
            "channel": np.where(online, "online", "terminal"),
            "fraud": np.where(fraud, "yes", "no"),
        }
    )


def _german_number(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"  # 1,076.90
    return text.replace(",", "_").replace(".", ",").replace("_", ".")  # 1.076,90


def german_export(rows: int = 3000) -> pd.DataFrame:
    """A German ERP invoice export (`;`-separated): `1.076,90 €`, `12,5 %`, `31.12.2023`, `K-00123`.

    Target: was the invoice paid late (ja/nein)? The amount, discount and weight columns are text
    to pd.read_csv; the customer (400 of them) and the date (December, month-end) carry signal.
    """
    rng = np.random.default_rng(103)
    customers = 400
    customer_logit = rng.normal(0, 1.0, customers)
    customer = rng.choice(customers, rows)
    day = rng.integers(0, 730, rows)
    invoice_date = pd.to_datetime("2023-01-01") + pd.to_timedelta(day, unit="D")
    month_end = np.asarray(invoice_date.days_in_month - invoice_date.day) < 3
    december = np.asarray(invoice_date.month) == 12
    amount = np.round(rng.lognormal(6.3, 1.0, rows), 2)
    discount = np.round(rng.choice([0, 0, 0, 2.5, 5, 7.5, 10, 12.5, 15], rows), 1)
    weight = np.round(rng.gamma(2.0, 6.0, rows), 1)
    terms = rng.choice([14, 30, 60], rows, p=[0.4, 0.45, 0.15])
    payment = rng.choice(["Rechnung", "Lastschrift", "Kreditkarte", "PayPal"], rows)
    region = rng.choice(["Nord", "Süd", "Ost", "West"], rows)
    logit = (
        -1.2
        + customer_logit[customer]
        + 0.45 * (np.log(amount) - 6.3)
        - 0.08 * discount
        + 0.9 * month_end
        + 0.7 * december
        + 0.012 * (terms - 30)
        + 1.0 * (payment == "Rechnung")
        - 1.2 * (payment == "Lastschrift")
    )
    late = rng.random(rows) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "Kundennummer": [f"K-{c + 100:05d}" for c in customer],
            "Rechnungsdatum": invoice_date.strftime("%d.%m.%Y"),
            "Nettobetrag": [f"{_german_number(a, 2)} €" for a in amount],
            "Rabatt": [f"{_german_number(d, 1)} %" for d in discount],
            "Gewicht_kg": _with_missing(
                rng, np.array([_german_number(w, 1) for w in weight]), 0.04
            ),
            "Zahlungsziel_Tage": terms,
            "Zahlungsart": payment,
            "Region": region,
            "Zahlung_verspaetet": np.where(late, "ja", "nein"),
        }
    )


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("breast_cancer", "target", "sklearn, 30 numeric columns", breast_cancer),
        Dataset("wine", "target", "sklearn, 3 classes, 13 numeric columns", wine),
        Dataset("digits", "target", "sklearn, 10 classes, 8x8 pixels", digits),
        Dataset("diabetes", "target", "sklearn, 10 numeric columns", diabetes),
        Dataset("churn_dates", "churned", "generated: id, date (month), gaps", churn_dates),
        Dataset("sales_dates", "revenue", "generated: id, date (weekday, trend)", sales_dates),
        Dataset(
            "sample_churn", "churned", "samples/churn.csv", file=REPO / "samples" / "churn.csv"
        ),
        Dataset("iris", "species", "sklearn, 3 classes, 150 rows: the smallest table", iris),
        Dataset("tips", "tip", "plotly: restaurant tips, 4 text columns, 244 rows, noisy", tips),
        Dataset(
            "gapminder", "lifeExp", "plotly: country is a 142-level text column, year", gapminder
        ),
        Dataset("fair", "had_affair", "statsmodels: survey, coded numeric answers", fair),
        Dataset("anes96", "vote", "statsmodels: election survey, ordinal codes", anes96),
        Dataset("star98", "share_above", "statsmodels: 303 districts, 20 numbers", star98),
        Dataset("grunfeld", "invest", "statsmodels: panel, firm as text, year", grunfeld),
        Dataset("randhie", "mdvis", "statsmodels: 20k rows, skewed count, weak signal", randhie),
        Dataset(
            "entity_names",
            "deal_value_k",
            "generated: 3,000 rep names carry the value",
            entity_names,
        ),
        Dataset(
            "group_code", "defaulted", "generated: account_id // 100 is the branch", group_code
        ),
        Dataset("mixed_80", "target", "generated: 80 mixed columns, 10 useful, gaps", mixed_80),
        Dataset("wide_784", "digit", "generated: 784 pixel columns, 10 classes", wide_784),
        Dataset("imbalanced", "fraud", "generated: 3 % positives", imbalanced),
        Dataset(
            "german_export",
            "Zahlung_verspaetet",
            "generated: ;-separated, 1.076,90 €, 12,5 %, 31.12.2023, K-00123",
            german_export,
            sep=";",
        ),
    )
}
