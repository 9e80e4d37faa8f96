"""The restaurant group: its locations in Lima and its menu.

Both are fixed tables rather than random draws, so every data set shares one recognisable
restaurant and a reader can check a review that names "el lomo saltado" against a real dish.
The extra grammar fields (gender, number, English name) let the review text agree with the dish.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

TIMEZONE = "America/Lima"
BRAND = "Sabores del Pacífico"

# Serving contexts: a breakfast item is only served at breakfast, a "meal" item never is,
# and drinks/desserts/sides go with everything.
BREAKFAST_ONLY = "breakfast"
MEAL_ONLY = "meal"
ANY_TIME = "any"

CATEGORIES = ("starter", "main", "side", "drink", "dessert")


@dataclass(frozen=True)
class Location:
    """A restaurant plus the latent traits that drive its experiences.

    The quality offsets are in standard-deviation units of the per-visit experience scores;
    ``noise`` is how loud the room gets when it is full.
    """

    location_id: str
    district: str
    address: str
    seats: int
    opened_on: dt.date
    popularity: float
    kitchen: float
    staff: float
    speed: float
    room: float
    noise: float
    english_share: float


@dataclass(frozen=True)
class Dish:
    """A menu item with what the text generator needs to talk about it correctly."""

    item_id: str
    name: str
    category: str
    cuisine: str
    price: float
    family: str
    es: str
    gender: str
    plural: bool
    en: str
    en_plural: bool
    popularity: float
    served: str = MEAL_ONLY
    hot: bool = True


LOCATIONS: tuple[Location, ...] = (
    Location("LOC01", "Miraflores", "Av. José Larco 812", 120, dt.date(2018, 3, 15),
             1.35, 0.25, 0.10, -0.10, 0.30, 0.55, 0.35),
    Location("LOC02", "San Isidro", "Calle Las Begonias 475", 90, dt.date(2020, 2, 3),
             1.10, 0.15, -0.15, -0.30, 0.00, 0.20, 0.15),
    Location("LOC03", "Barranco", "Av. Pedro de Osma 135", 70, dt.date(2021, 9, 10),
             0.85, 0.35, 0.20, 0.05, 0.55, 0.85, 0.25),
    Location("LOC04", "Santiago de Surco", "Av. Primavera 1250", 150, dt.date(2025, 6, 20),
             0.90, -0.25, 0.00, 0.10, 0.10, 0.30, 0.08),
)


def _d(item_id: str, name: str, category: str, cuisine: str, price: float, family: str,
       es: str, gender: str, plural: bool, en: str, en_plural: bool, popularity: float,
       served: str = MEAL_ONLY, hot: bool = True) -> Dish:
    return Dish(item_id, name, category, cuisine, price, family, es, gender, plural, en,
                en_plural, popularity, served, hot)


PERU, INTL = "peruvian", "international"
# Ordered by category so that a visit's lines, sorted by item index, read like a ticket:
# starters, mains, sides, drinks, desserts.
MENU: tuple[Dish, ...] = (
    # starters
    _d("M001", "Causa limeña", "starter", PERU, 28.0, "criollo", "causa limeña", "f", False,
       "causa limeña", False, 1.3, hot=False),
    _d("M002", "Papa a la huancaína", "starter", PERU, 22.0, "criollo", "papa a la huancaína", "f",
       False, "papa a la huancaína", False, 1.0, hot=False),
    _d("M003", "Anticuchos de corazón", "starter", PERU, 32.0, "grill", "anticuchos", "m", True,
       "anticuchos", True, 1.4),
    _d("M004", "Tiradito de pescado", "starter", PERU, 38.0, "seafood", "tiradito", "m", False,
       "tiradito", False, 0.9, hot=False),
    _d("M005", "Leche de tigre", "starter", PERU, 26.0, "seafood", "leche de tigre", "f", False,
       "leche de tigre", False, 0.9, hot=False),
    _d("M006", "Choritos a la chalaca", "starter", PERU, 30.0, "seafood", "choritos a la chalaca",
       "m", True, "choritos a la chalaca", True, 0.6, hot=False),
    _d("M007", "Conchitas a la parmesana", "starter", PERU, 39.0, "seafood",
       "conchitas a la parmesana", "f", True, "scallops a la parmesana", True, 0.7),
    _d("M008", "Tequeños con guacamole", "starter", INTL, 24.0, "international", "tequeños", "m",
       True, "tequeños", True, 1.2),
    _d("M009", "Ensalada César", "starter", INTL, 29.0, "international", "ensalada César", "f",
       False, "Caesar salad", False, 0.8, hot=False),
    _d("M010", "Alitas BBQ", "starter", INTL, 32.0, "international", "alitas BBQ", "f", True,
       "BBQ wings", True, 0.9),
    # mains
    _d("M011", "Ceviche clásico", "main", PERU, 45.0, "seafood", "ceviche clásico", "m", False,
       "ceviche", False, 2.2, hot=False),
    _d("M012", "Ceviche mixto", "main", PERU, 52.0, "seafood", "ceviche mixto", "m", False,
       "mixed ceviche", False, 1.2, hot=False),
    _d("M013", "Lomo saltado", "main", PERU, 54.0, "criollo", "lomo saltado", "m", False,
       "lomo saltado", False, 2.4),
    _d("M014", "Ají de gallina", "main", PERU, 38.0, "criollo", "ají de gallina", "m", False,
       "ají de gallina", False, 1.6),
    _d("M015", "Arroz con mariscos", "main", PERU, 49.0, "seafood", "arroz con mariscos", "m",
       False, "arroz con mariscos", False, 1.5),
    _d("M016", "Tacu tacu con lomo", "main", PERU, 56.0, "criollo", "tacu tacu", "m", False,
       "tacu tacu", False, 0.9),
    _d("M017", "Pollo a la brasa (1/4)", "main", PERU, 34.0, "grill", "pollo a la brasa", "m",
       False, "pollo a la brasa", False, 1.7),
    _d("M018", "Seco de res con frejoles", "main", PERU, 46.0, "criollo", "seco de res", "m", False,
       "seco de res", False, 0.9),
    _d("M019", "Arroz chaufa de pollo", "main", PERU, 36.0, "chifa", "arroz chaufa", "m", False,
       "arroz chaufa", False, 1.4),
    _d("M020", "Tallarines verdes con bistec", "main", PERU, 44.0, "criollo", "tallarines verdes",
       "m", True, "tallarines verdes", True, 0.8),
    _d("M021", "Carapulcra con sopa seca", "main", PERU, 42.0, "criollo", "carapulcra", "f", False,
       "carapulcra", False, 0.5),
    _d("M022", "Chicharrón de pescado", "main", PERU, 42.0, "seafood", "chicharrón de pescado", "m",
       False, "chicharrón de pescado", False, 0.9),
    _d("M023", "Jalea mixta", "main", PERU, 58.0, "seafood", "jalea", "f", False, "jalea mixta",
       False, 0.8),
    _d("M024", "Rocoto relleno", "main", PERU, 38.0, "criollo", "rocoto relleno", "m", False,
       "rocoto relleno", False, 0.6),
    _d("M025", "Pescado a lo macho", "main", PERU, 59.0, "seafood", "pescado a lo macho", "m",
       False,
       "pescado a lo macho", False, 0.7),
    _d("M026", "Hamburguesa clásica", "main", INTL, 36.0, "international", "hamburguesa", "f",
       False,
       "burger", False, 1.3),
    _d("M027", "Hamburguesa de la casa con tocino", "main", INTL, 42.0, "international",
       "hamburguesa de la casa", "f", False, "bacon house burger", False, 0.9),
    _d("M028", "Pizza margarita", "main", INTL, 39.0, "international", "pizza margarita", "f",
       False,
       "margherita pizza", False, 1.0),
    _d("M029", "Pizza pepperoni", "main", INTL, 44.0, "international", "pizza de pepperoni", "f",
       False, "pepperoni pizza", False, 0.9),
    _d("M030", "Fettuccine Alfredo", "main", INTL, 41.0, "international", "fettuccine Alfredo", "m",
       True, "fettuccine Alfredo", False, 0.8),
    _d("M031", "Lasaña de carne", "main", INTL, 43.0, "international", "lasaña", "f", False,
       "beef lasagna", False, 0.7),
    _d("M032", "Risotto de hongos", "main", INTL, 48.0, "international", "risotto de hongos", "m",
       False, "mushroom risotto", False, 0.6),
    _d("M033", "Salmón a la plancha", "main", INTL, 64.0, "international", "salmón", "m", False,
       "grilled salmon", False, 0.7),
    _d("M034", "Bife de chorizo 350 g", "main", INTL, 78.0, "grill", "bife de chorizo", "m", False,
       "sirloin steak", False, 0.8),
    # breakfast mains
    _d("M035", "Pan con chicharrón", "main", PERU, 22.0, "criollo", "pan con chicharrón", "m",
       False, "pan con chicharrón", False, 1.6, served=BREAKFAST_ONLY),
    _d("M036", "Tamal con salsa criolla", "main", PERU, 16.0, "criollo", "tamal", "m", False,
       "tamal", False, 1.0, served=BREAKFAST_ONLY),
    _d("M037", "Huevos revueltos con tostadas", "main", INTL, 19.0, "international",
       "huevos revueltos", "m", True, "scrambled eggs on toast", True, 0.9,
       served=BREAKFAST_ONLY),
    _d("M038", "Club sándwich", "main", INTL, 32.0, "international", "club sándwich", "m", False,
       "club sandwich", False, 0.7, served=ANY_TIME),
    # sides
    _d("M039", "Papas fritas", "side", INTL, 14.0, "international", "papas fritas", "f", True,
       "fries", True, 1.5, served=ANY_TIME),
    _d("M040", "Yuca frita", "side", PERU, 14.0, "criollo", "yuca frita", "f", False,
       "yuca fries", True, 1.0),
    _d("M041", "Arroz blanco", "side", PERU, 8.0, "criollo", "arroz", "m", False, "white rice",
       False, 0.8),
    _d("M042", "Choclo con queso", "side", PERU, 16.0, "criollo", "choclo con queso", "m", False,
       "choclo con queso", False, 0.7, hot=False),
    _d("M043", "Ensalada de la casa", "side", INTL, 15.0, "international", "ensalada", "f", False,
       "side salad", False, 0.6, hot=False),
    # drinks
    _d("M044", "Chicha morada (jarra)", "drink", PERU, 22.0, "drinks", "chicha morada", "f", False,
       "chicha morada", False, 1.6, served=ANY_TIME, hot=False),
    _d("M045", "Limonada frozen", "drink", PERU, 12.0, "drinks", "limonada frozen", "f", False,
       "frozen lemonade", False, 1.3, served=ANY_TIME, hot=False),
    _d("M046", "Inca Kola 500 ml", "drink", PERU, 7.0, "drinks", "Inca Kola", "f", False,
       "Inca Kola", False, 1.6, served=ANY_TIME, hot=False),
    _d("M047", "Coca-Cola 500 ml", "drink", INTL, 7.0, "drinks", "Coca-Cola", "f", False,
       "Coke", False, 1.0, served=ANY_TIME, hot=False),
    _d("M048", "Agua mineral", "drink", INTL, 6.0, "drinks", "agua", "f", False, "water", False,
       0.9, served=ANY_TIME, hot=False),
    _d("M049", "Pisco sour", "drink", PERU, 28.0, "bar", "pisco sour", "m", False, "pisco sour",
       False, 1.7, hot=False),
    _d("M050", "Chilcano de pisco", "drink", PERU, 25.0, "bar", "chilcano", "m", False,
       "chilcano", False, 1.0, hot=False),
    _d("M051", "Maracuyá sour", "drink", PERU, 28.0, "bar", "maracuyá sour", "m", False,
       "passion fruit sour", False, 0.8, hot=False),
    _d("M052", "Cerveza Cusqueña", "drink", PERU, 14.0, "bar", "cerveza", "f", False, "beer",
       False, 1.2, hot=False),
    _d("M053", "Copa de vino tinto", "drink", INTL, 26.0, "bar", "vino", "m", False, "red wine",
       False, 0.7, hot=False),
    _d("M054", "Café americano", "drink", INTL, 8.0, "drinks", "café", "m", False, "coffee", False,
       1.1, served=ANY_TIME),
    _d("M055", "Jugo de fresa", "drink", PERU, 12.0, "drinks", "jugo de fresa", "m", False,
       "strawberry juice", False, 0.8, served=ANY_TIME, hot=False),
    # desserts
    _d("M056", "Suspiro a la limeña", "dessert", PERU, 18.0, "sweet", "suspiro a la limeña", "m",
       False, "suspiro a la limeña", False, 1.3, served=ANY_TIME, hot=False),
    _d("M057", "Picarones", "dessert", PERU, 18.0, "sweet", "picarones", "m", True, "picarones",
       True, 1.3, served=ANY_TIME),
    _d("M058", "Mazamorra morada", "dessert", PERU, 14.0, "sweet", "mazamorra morada", "f", False,
       "mazamorra morada", False, 0.7, served=ANY_TIME, hot=False),
    _d("M059", "Cheesecake de maracuyá", "dessert", INTL, 22.0, "sweet", "cheesecake de maracuyá",
       "m", False, "passion fruit cheesecake", False, 0.9, served=ANY_TIME, hot=False),
    _d("M060", "Brownie con helado", "dessert", INTL, 20.0, "sweet", "brownie con helado", "m",
       False, "brownie with ice cream", False, 0.9, served=ANY_TIME),
)

# Main-dish families a customer can be a fan of; the favourite gets a heavy weight boost.
FAMILIES = ("seafood", "criollo", "grill", "chifa", "international")


def locations_frame() -> pd.DataFrame:
    """The ``locations`` table in schema layout."""
    return pd.DataFrame({
        "location_id": [loc.location_id for loc in LOCATIONS],
        "name": [f"{BRAND} {loc.district}" for loc in LOCATIONS],
        "city": "Lima",
        "district": [loc.district for loc in LOCATIONS],
        "address": [f"{loc.address}, {loc.district}, Lima" for loc in LOCATIONS],
        "seats": np.array([loc.seats for loc in LOCATIONS], dtype=np.int64),
        "opened_on": pd.to_datetime([loc.opened_on for loc in LOCATIONS]).astype("datetime64[s]"),
        "timezone": TIMEZONE,
    })


def menu_frame() -> pd.DataFrame:
    """The ``menu_items`` table in schema layout."""
    return pd.DataFrame({
        "item_id": [d.item_id for d in MENU],
        "name": [d.name for d in MENU],
        "category": [d.category for d in MENU],
        "cuisine": [d.cuisine for d in MENU],
        "price": np.array([d.price for d in MENU]),
        "active": np.ones(len(MENU), dtype=bool),
    })


def price_cents() -> np.ndarray:
    """Menu prices in integer cents, so bill totals add up exactly."""
    return np.array([round(d.price * 100) for d in MENU], dtype=np.int64)
