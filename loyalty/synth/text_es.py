"""Peruvian Spanish reviews, built from grammar pieces with gender and number agreement.

Every dish carries its gender and number, so "el lomo saltado llegó frío", "la causa llegó
fría" and "los anticuchos llegaron fríos" all come out right, and adjectives, articles
(with the "al"/"del" contractions) and verbs agree with whatever they describe.
"""

from __future__ import annotations

from loyalty.synth.menu import MENU
from loyalty.synth.names import WAITER_FEMALE, WAITERS
from loyalty.synth.text import (
    AMBIENCE,
    FOOD,
    GOOD,
    PRICE,
    SERVICE,
    WAIT,
    Mention,
    Picker,
    Plan,
    ReviewContext,
    join_sentences,
    main_dish,
)
from loyalty.synth.timeline import BREAKFAST, DINNER, LATE, LUNCH
from loyalty.synth.visits import DELIVERY, DINE_IN, TAKEAWAY

_ART = {("m", False): "el", ("f", False): "la", ("m", True): "los", ("f", True): "las"}
_VERB_PLURAL = {
    "estuvo": "estuvieron", "llegó": "llegaron", "estaba": "estaban", "fue": "fueron",
    "vino": "vinieron", "salió": "salieron", "tenía": "tenían", "es": "son", "está": "están",
    "demoró": "demoraron", "vale": "valen", "tiene": "tienen", "le": "les", "sabía": "sabían",
    "parecía": "parecían", "se notaba": "se notaban",
}
_UNACCENT = str.maketrans("áéíóú", "aeiou")
WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
HOLIDAY_PHRASES = {
    1: "por el Día de la Madre", 2: "por el Día del Padre", 3: "por Fiestas Patrias",
    4: "en Nochebuena", 5: "por Año Nuevo", 6: "por San Valentín",
    7: "por el Día del Pisco Sour", 8: "por el feriado de Santa Rosa",
    9: "por el Día de la Canción Criolla", 10: "por el Día del Ceviche",
}
_FRIED = {"M008", "M010", "M022", "M023", "M039", "M040", "M057"}
_MEAT = {"M003", "M013", "M016", "M017", "M018", "M034"}
_FRESH = {"M004", "M005", "M006", "M011", "M012"}
_WATERY = {"M044", "M045", "M049", "M050", "M051", "M055"}


# --- agreement ------------------------------------------------------------------------------

def inflect(word: str, gender: str, plural: bool) -> str:
    """Agree a masculine-singular adjective with a noun ("frío" -> "frías")."""
    if word.endswith("o"):
        return word[:-1] + {("m", False): "o", ("f", False): "a", ("m", True): "os",
                            ("f", True): "as"}[(gender, plural)]
    if word.endswith("or"):
        stem = word + ("a" if gender == "f" else "")
        return stem + ("s" if gender == "f" else "es") if plural else stem
    if not plural:
        return word
    if word[-1] in "aeiou":
        return word + "s"
    if word.endswith("z"):
        return word[:-1] + "ces"
    return word[:-2] + word[-2].translate(_UNACCENT) + word[-1] + "es"


def verb(form: str, plural: bool) -> str:
    return _VERB_PLURAL[form] if plural else form


def _dish(d: int) -> tuple[str, str, bool]:
    item = MENU[d]
    return item.es, item.gender, item.plural


def el(d: int) -> str:
    name, g, pl = _dish(d)
    return f"{_ART[(g, pl)]} {name}"


def al(d: int) -> str:
    name, g, pl = _dish(d)
    return f"al {name}" if (g, pl) == ("m", False) else f"a {_ART[(g, pl)]} {name}"


def del_(d: int) -> str:
    name, g, pl = _dish(d)
    return f"del {name}" if (g, pl) == ("m", False) else f"de {_ART[(g, pl)]} {name}"


def adj(d: int, word: str) -> str:
    _, g, pl = _dish(d)
    return inflect(word, g, pl)


def vb(d: int, form: str) -> str:
    return verb(form, MENU[d].plural)


def we(ctx: ReviewContext, alone: str, group: str) -> str:
    """First person singular when eating alone, plural otherwise."""
    return alone if ctx.party == 1 else group


def me(ctx: ReviewContext, word: str) -> str:
    """An adjective about the reviewer(s): "encantada", "encantados"."""
    if ctx.party == 1:
        return inflect(word, "f" if ctx.female else "m", False)
    return inflect(word, "m", True)


def y(next_word: str) -> str:
    """Spanish "y" becomes "e" before an /i/ sound ("rico e increíble")."""
    w = next_word.lower()
    return "e" if (w.startswith(("i", "í")) or w.startswith("hi")) and \
        not w.startswith(("hie", "ia", "ie", "io")) else "y"


def _intens(p: Picker, strong: bool) -> str:
    if strong:
        return p.choice(("muy ", "bien ", "súper ", "realmente ", "demasiado "))
    return p.choice(("un poco ", "algo ", "medio ", "bastante "))


def _pos_intens(p: Picker) -> str:
    return p.weighted(("muy ", "bien ", "súper ", "realmente ", "bastante ", ""),
                      (3, 3, 2, 1, 1, 2))


# --- clauses --------------------------------------------------------------------------------

def _food_good(p: Picker, ctx: ReviewContext, d: int | None) -> str:
    if d is None:
        return p.choice((
            lambda: f"la comida {p.choice(('estuvo', 'estaba'))} {_pos_intens(p)}"
                    f"{p.choice(('rica', 'buena', 'sabrosa'))}",
            lambda: f"todo {p.choice(('estuvo', 'estaba'))} "
                    f"{p.choice(('delicioso', 'riquísimo', 'buenazo', 'espectacular'))}",
            lambda: f"{we(ctx, 'comí', 'comimos')} {p.choice(('riquísimo', 'delicioso'))}",
            lambda: f"la sazón es {p.choice(('de primera', 'increíble', 'espectacular'))}",
            lambda: p.choice(("las porciones son generosas", "porciones bien generosas",
                              "los platos llegan bien servidos")),
            lambda: "la comida tiene ese sabor casero que uno busca",
            lambda: f"la comida, {p.choice(('de diez', 'un lujo', 'buenaza'))}",
        ))()
    item = MENU[d]
    absolute = p.choice(("delicioso", "espectacular", "buenazo", "riquísimo", "buenísimo",
                         "exquisito", "increíble"))
    gradable = p.choice(("rico", "sabroso", "bueno"))
    options = [
        lambda: f"{el(d)} {vb(d, p.choice(('estuvo', 'estaba')))} {_pos_intens(p)}"
                f"{adj(d, gradable)}",
        lambda: f"{el(d)} {vb(d, 'estuvo')} {adj(d, absolute)}",
        lambda: f"{we(ctx, 'pedí', 'pedimos')} {el(d)} y {vb(d, 'estuvo')} {adj(d, absolute)}",
        lambda: f"{el(d)}, {adj(d, absolute)}",
        lambda: f"lo mejor fue {el(d)}",
        lambda: f"{adj(d, absolute)} {el(d)}",
        lambda: f"recomiendo {el(d)}, {vb(d, 'está')} {adj(d, absolute)}",
        lambda: f"{el(d)} {vb(d, 'es')} de {'las' if item.gender == 'f' else 'los'} "
                f"mejores que he probado en Lima",
    ]
    if item.item_id in _FRESH:
        options += [lambda: f"{el(d)} bien {adj(d, 'fresquito')}",
                    lambda: f"{el(d)} {vb(d, 'estaba')} {adj(d, 'fresquísimo')}",
                    lambda: "el pescado se notaba fresquísimo"]
    if item.item_id in _MEAT:
        options += [lambda: f"la carne {del_(d)} bien {p.choice(('jugosa', 'tierna', 'suave'))}",
                    lambda: f"{el(d)} en su punto"]
    if item.item_id in _FRIED:
        options += [lambda: f"{el(d)} bien {adj(d, p.choice(('crocante', 'doradito')))}"]
    if item.category == "drink":
        options += [lambda: f"{el(d)} bien {adj(d, 'heladito')}",
                    lambda: f"{el(d)} {vb(d, 'estaba')} {adj(d, 'perfecto')}",
                    lambda: f"{adj(d, 'buenísimo')} {el(d)}, de los mejores de Lima"
                    if item.family == "bar" else f"{el(d)} bien {adj(d, 'heladito')}"]
    if item.category == "dessert":
        options += [lambda: f"de postre, {el(d)}: {adj(d, absolute)}",
                    lambda: f"{el(d)} en su punto de dulce",
                    lambda: f"{we(ctx, 'cerré', 'cerramos')} con {el(d)} y {vb(d, 'estuvo')} "
                            f"{adj(d, absolute)}"]
    if item.cuisine == "peruvian" and item.category in ("main", "starter"):
        options += [lambda: f"{el(d)} {vb(d, 'tiene')} una sazón "
                            f"{p.choice(('increíble', 'de casa', 'bien criolla', 'espectacular'))}"]
    return p.choice(options)()


def _food_bad(p: Picker, ctx: ReviewContext, d: int | None, strong: bool) -> str:
    if ctx.channel == DINE_IN:
        where = p.choice(("", " a la mesa"))
    else:
        where = " a la casa" if ctx.channel == DELIVERY else ""
    if d is None:
        if not strong:
            return p.choice((
                "la comida estuvo bastante regular",
                "nada del otro mundo la comida",
                "la comida estaba algo sosa",
                "la sazón no me convenció" if ctx.party == 1 else "la sazón no nos convenció",
            ))
        options = [
            f"la comida llegó {p.choice(('fría', 'tibia', 'medio fría'))}{where}",
            "la comida no estuvo a la altura",
            f"la comida estaba {p.choice(('sin sabor', 'insípida', 'demasiado salada'))}",
            f"los platos llegaron {p.choice(('tibios', 'fríos'))}",
        ]
        if ctx.visits_before >= 3:
            options.append("la sazón ya no es la de antes")
        return p.choice(options)
    item = MENU[d]
    if item.category == "drink":
        options = [lambda: f"{el(d)} {vb(d, 'estaba')} {_intens(p, strong)}"
                           f"{adj(d, 'dulce')}",
                   lambda: f"{el(d)} {vb(d, 'sabía')} raro"]
        if item.item_id in _WATERY:
            options.append(lambda: f"{el(d)} {vb(d, 'estaba')} {adj(d, 'aguado')}")
        if item.hot:
            options.append(lambda: f"{el(d)} {vb(d, 'llegó')} {adj(d, 'frío')}")
        else:
            options.append(lambda: f"{el(d)} {vb(d, 'llegó')} {adj(d, 'tibio')}")
        return p.choice(options)()
    if item.category == "dessert":
        return p.choice((
            lambda: f"{el(d)} {vb(d, 'estaba')} demasiado {adj(d, 'dulce')}",
            lambda: f"{el(d)} no {vb(d, 'estaba')} {adj(d, 'fresco')}",
            lambda: f"{el(d)} {vb(d, 'parecía')} del día anterior, nada {adj(d, 'fresco')}",
        ))()
    options = [
        lambda: f"{al(d)} {vb(d, 'le')} faltaba sazón",
        lambda: f"{el(d)} no {vb(d, 'tenía')} mucho sabor",
        lambda: f"{el(d)} {vb(d, 'estaba')} {_intens(p, strong)}{adj(d, 'salado')}",
        lambda: f"{el(d)} {vb(d, 'vino')} {adj(d, 'pasado')} de sal",
        lambda: f"la porción {del_(d)} era {_intens(p, strong)}{p.choice(('pequeña', 'chica'))}",
    ]
    if item.hot:
        cold = p.choice(("frío", "tibio", "helado"))
        options += [
            lambda: f"{el(d)} {vb(d, 'llegó')} "
                    f"{p.choice(('', 'medio ', 'casi ')) if cold == 'frío' else ''}"
                    f"{adj(d, cold)}{where}",
            lambda: f"{el(d)} {vb(d, 'llegó')} {adj(d, 'frío')}{where}",
            lambda: f"{we(ctx, 'me', 'nos')} "
                    f"{'entregaron' if ctx.channel == TAKEAWAY else 'trajeron'} "
                    f"{el(d)} {adj(d, cold)}",
        ] * 2
    if item.item_id in _FRESH:
        options += [lambda: f"{el(d)} no {vb(d, 'se notaba')} {adj(d, 'fresco')}",
                    lambda: "el pescado no se sentía fresco"]
    if item.item_id in _MEAT:
        options += [lambda: f"la carne {del_(d)} estaba {p.choice(('dura', 'seca', 'cruda'))}"]
    return p.choice(options)()


def _waiter(p: Picker) -> tuple[str, str, str]:
    """A waiter's name, "el mozo"/"la moza" and gender for agreement."""
    name = p.choice(WAITERS)
    female = name in WAITER_FEMALE
    return name, "la moza" if female else "el mozo", "f" if female else "m"


def _service_off_premises(p: Picker, ctx: ReviewContext, d: int | None, good: bool,
                          strong: bool) -> str:
    """Service for delivery and takeaway: no waiter, but a rider, a till and WhatsApp."""
    us = we(ctx, "me", "nos")
    if ctx.channel == DELIVERY:
        if good:
            return p.choice((
                f"el repartidor fue {_pos_intens(p)}amable",
                f"{us} respondieron rapidísimo por WhatsApp",
                "todo llegó bien empacado y con sus cremitas",
                "la atención por teléfono, de primera",
            ))
        if not strong:
            return p.choice(("faltaron los cubiertos y las cremas del pedido",
                             "la atención por WhatsApp fue algo lenta"))
        options = [
            f"el repartidor fue {_intens(p, True)}descortés",
            "el pedido llegó incompleto y nadie contestó el WhatsApp",
            f"en el teléfono {us} atendieron de mala gana",
            "la atención por WhatsApp fue pésima",
        ]
        if d is not None:
            options.append(f"se olvidaron de mandar {el(d)} y nadie se hizo responsable del "
                           "pedido")
        return p.choice(options)
    if good:
        return p.choice((f"en caja {us} atendieron con mucha amabilidad",
                         "todo bien empacado y la atención muy amable",
                         f"la chica de caja fue {_pos_intens(p)}amable"))
    if not strong:
        return p.choice(("en caja la atención fue algo lenta", "la atención en caja, regular"))
    return p.choice((f"en caja {us} atendieron de mala gana",
                     "se equivocaron con el pedido para llevar y la atención fue pésima",
                     f"la persona de caja fue {_intens(p, True)}descortés"))


def _service_good(p: Picker, ctx: ReviewContext, d: int | None) -> str:
    if ctx.channel != DINE_IN:
        return _service_off_premises(p, ctx, d, True, True)
    name, mozo, g = _waiter(p)
    us = we(ctx, "me", "nos")
    people = p.choice(("atento", "amable", "simpático", "cordial", "servicial"))
    options = [
        lambda: f"la atención {p.choice(('fue', 'estuvo'))} {_pos_intens(p)}"
                f"{p.choice(('buena', 'cálida', 'amable', 'rápida'))}",
        lambda: f"la atención, {p.choice(('excelente', 'impecable', 'de primera', 'de diez'))}",
        lambda: f"{mozo}, {name}, fue {_pos_intens(p)}{inflect(people, g, False)}",
        lambda: f"{us} atendió {name}, {_pos_intens(p)}{inflect(people, g, False)}",
        lambda: f"{us} atendieron "
                + p.choice(("de maravilla", "súper bien", "con mucha amabilidad",
                            "con una sonrisa")),
        lambda: f"el personal {p.choice(('es', 'fue'))} {_pos_intens(p)}"
                f"{p.choice(('cordial', 'atento', 'amable'))}",
        lambda: f"{p.choice(('excelente', 'muy buena', 'buenísima'))} atención de "
                f"{p.choice(('todo el personal', 'los mozos', name))}",
        lambda: f"{name} estuvo pendiente de la mesa todo el tiempo",
    ]
    if d is not None:
        options += [lambda: f"{name} {us} recomendó {el(d)} y fue un acierto"] * 3
    return p.choice(options)()


def _service_bad(p: Picker, ctx: ReviewContext, d: int | None, strong: bool) -> str:
    if ctx.channel != DINE_IN:
        return _service_off_premises(p, ctx, d, False, strong)
    name, mozo, g = _waiter(p)
    us = we(ctx, "me", "nos")
    if not strong:
        return p.choice((
            "la atención fue algo distraída",
            "la atención podría mejorar",
            f"{mozo} estaba {inflect(p.choice(('distraído', 'apurado')), g, False)}",
            "al personal le falta un poco de cariño",
        ))
    options = [
        lambda: f"{mozo} fue {_intens(p, True)}"
                f"{inflect(p.choice(('descortés', 'antipático', 'seco', 'pesado')), g, False)}",
        lambda: f"{mozo} {us} atendió de mala gana",
        lambda: f"nadie se acercaba a la mesa, {'me' if ctx.party == 1 else 'tuvimos'} "
                f"{'tocó' if ctx.party == 1 else 'que'} llamar al mozo "
                f"{p.choice(('tres', 'cuatro', 'cinco'))} veces",
        lambda: f"{mozo} se equivocó con el pedido y ni siquiera se disculpó",
        lambda: f"la atención {p.choice(('dejó mucho que desear', 'fue pésima', 'fue malísima'))}",
        lambda: "el personal estaba más pendiente del celular que de las mesas",
        lambda: f"el personal {us} trató con mala cara",
        lambda: f"pésima atención de {p.choice(('los mozos', 'la persona de caja', mozo))}",
    ]
    if d is not None:
        options.append(lambda: f"{mozo} {us} trajo {el(d)} {adj(d, 'equivocado')}")
    return p.choice(options)()


def _minutes(strength: float) -> int:
    return int(min(max(round((22 + 14 * -strength) / 5) * 5, 25), 95))


def _wait_good(p: Picker, ctx: ReviewContext, d: int | None) -> str:
    if ctx.channel == DELIVERY:
        return p.choice((
            f"el pedido llegó en {p.choice((20, 25, 30))} minutos",
            "el delivery llegó antes de lo previsto",
            "el delivery llegó rapidísimo y bien empacado",
        ))
    if ctx.channel == TAKEAWAY:
        return p.choice(("el pedido estaba listo a la hora",
                         f"el pedido estuvo listo en {p.choice(('diez', 'quince', 'veinte'))} "
                         "minutos"))
    options = [
        "los platos salieron rápido",
        f"no {we(ctx, 'tuve', 'tuvimos')} que esperar casi nada",
        "todo salió rapidísimo",
        "a pesar de que estaba lleno, la comida salió rápido",
        f"la atención fue {p.choice(('rápida', 'rapidísima', 'ágil'))}",
    ]
    if d is not None:
        options.append(f"{el(d)} {vb(d, 'salió')} en {p.choice(('diez', 'quince'))} minutos")
    return p.choice(options)


def _wait_bad(p: Picker, ctx: ReviewContext, d: int | None, strong: bool) -> str:
    m = _minutes(ctx.scores[WAIT])
    if not strong:
        return p.choice(("la comida demoró un poco", "hubo algo de espera",
                         "el servicio estuvo un poco lento", "la atención algo lenta"))
    if ctx.channel == DELIVERY:
        return p.choice((
            f"el delivery demoró más de {p.choice(('una hora', 'hora y media'))}",
            f"el pedido llegó {m - 15} minutos tarde",
            f"el pedido demoró {m} minutos en llegar",
        ))
    wait = we(ctx, "esperé", "esperamos")
    if ctx.channel == TAKEAWAY:
        return p.choice((f"el pedido para llevar demoró {m} minutos",
                         f"{wait} {m} minutos en el local por un pedido para llevar",
                         "el pedido no estaba listo a la hora y la espera fue larguísima"))
    options = [
        f"{wait} más de {m} minutos por " + (el(d) if d is not None else "la comida"),
        f"la comida demoró casi {m} minutos",
        f"la atención fue {p.choice(('lentísima', 'demasiado lenta', 'súper lenta'))}",
        f"el servicio fue {_intens(p, True)}lento",
        f"para pedir la cuenta {we(ctx, 'tuve', 'tuvimos')} que esperar {m - 10} minutos",
        "una eternidad de espera para que llegue la comida",
    ]
    if d is not None:
        options.append(f"{el(d)} {vb(d, 'demoró')} {m} minutos en salir")
    if ctx.party > 1:
        options.append(f"nos hicieron esperar {m - 5} minutos por una mesa")
    return p.choice(options)


def _company(ctx: ReviewContext, p: Picker) -> str:
    if ctx.party == 1:
        return p.choice(("", " " + me(ctx, "solo")))
    if ctx.party == 2:
        partner = "mi esposo" if ctx.female else "mi esposa"
        return " con " + p.choice((partner, "mi pareja", "una amiga", "un amigo", "mi mamá",
                                   "mi hermana"))
    if ctx.party <= 5:
        options = ["la familia", "unos amigos", "mis papás", "mis hijos", "la familia"]
        if ctx.daypart == LUNCH and ctx.weekday < 5:
            options += ["compañeros del trabajo", "gente de la oficina"]
        return " con " + p.choice(options)
    return p.choice((f" en grupo, éramos {ctx.party}", f" con {ctx.party - 1} amigos",
                     " para un cumpleaños familiar", " con toda la familia"))


def _when(ctx: ReviewContext, p: Picker, meal_named: bool = False) -> str:
    """When it happened; skips "al mediodía" when the sentence already says "almorzar"."""
    if ctx.holiday in HOLIDAY_PHRASES and p.chance(0.8):
        return " " + HOLIDAY_PHRASES[ctx.holiday]
    day = WEEKDAYS[ctx.weekday]
    lunch = "" if meal_named else p.choice((" al mediodía", ""))
    part = {BREAKFAST: "" if meal_named else " en la mañana", LUNCH: lunch,
            DINNER: " en la noche", LATE: " ya tarde en la noche"}[ctx.daypart]
    return p.weighted((f" el {day}{part}", f" un {day}{part}", " el fin de semana"
                       if ctx.weekday >= 5 else f" el {day}", ""), (3, 2, 1, 2))


def _opener(p: Picker, ctx: ReviewContext) -> str:
    place = p.choice((f" al local de {ctx.district}", f" a la sede de {ctx.district}", "", ""))
    if ctx.channel == DELIVERY:
        return p.choice((
            f"{we(ctx, 'pedí', 'pedimos')} delivery{_when(ctx, p)}",
            f"hicimos un pedido por delivery para {ctx.party}" if ctx.party > 1
            else f"pedí delivery{_when(ctx, p)} para la casa",
            f"{we(ctx, 'pedí', 'pedimos')} por delivery{_when(ctx, p)} del local de "
            f"{ctx.district}",
        ))
    if ctx.channel == TAKEAWAY:
        return p.choice((f"pedí para llevar{_when(ctx, p)}",
                         f"recogí un pedido para llevar en el local de {ctx.district}"))
    meal = {BREAKFAST: "tomar desayuno", LUNCH: "almorzar", DINNER: "cenar",
            LATE: p.choice(("cenar", "tomar unos tragos"))}[ctx.daypart]
    if ctx.visits_before == 0 and p.chance(0.5):
        return p.choice((f"primera vez en el local de {ctx.district}",
                         f"era {we(ctx, 'mi', 'nuestra')} primera vez"
                         + place.replace(" al ", " en el ").replace(" a la ", " en la ")))
    if ctx.visits_before >= 6 and p.chance(0.4):
        return p.choice((f"{we(ctx, 'vengo', 'venimos')} seguido{place}",
                         f"soy {'clienta' if ctx.female else 'cliente'} frecuente del local de "
                         f"{ctx.district}",
                         f"siempre {we(ctx, 'vengo', 'venimos')} a este local"))
    go = p.choice((we(ctx, "fui", "fuimos"), we(ctx, "vine", "vinimos")))
    return f"{go} a {meal}{_when(ctx, p, True)}{_company(ctx, p)}{place}"


def _ambience_good(p: Picker, ctx: ReviewContext) -> str:
    options = [
        f"el ambiente es {_pos_intens(p)}{p.choice(('acogedor', 'agradable', 'bonito'))}",
        f"el local es {p.choice(('bonito', 'cómodo', 'amplio'))} y "
        f"{p.choice(('tranquilo', 'limpio', 'bien iluminado'))}",
        "buena música y buena vibra",
        "ideal para venir " + (p.choice(("en pareja", "con una amiga")) if ctx.party == 2
                               else p.choice(("en familia", "con amigos")) if ctx.party > 2
                               else f"a almorzar {me(ctx, 'tranquilo')}"),
        f"la decoración está {p.choice(('linda', 'bonita', 'chévere'))}",
        "se puede conversar tranquilo",
        "el ambiente es chévere",
    ]
    if ctx.district in ("Barranco", "Miraflores"):
        options.append("la terraza es preciosa")
    return p.choice(options)


def _ambience_bad(p: Picker, ctx: ReviewContext, strong: bool) -> str:
    if not strong:
        return p.choice(("el ambiente un poco ruidoso", "el local estaba algo lleno y ruidoso",
                         "la música un poco alta para mi gusto"))
    options = [
        "había demasiado ruido en el local",
        "la música estaba altísima y no se podía conversar",
        f"el local estaba lleno y {p.choice(('muy ruidoso', 'con mucha bulla'))}",
        "los baños del local no estaban limpios",
        "las mesas están muy pegadas, el ambiente es incómodo",
        f"el ambiente {_intens(p, True)}bullicioso",
    ]
    if ctx.month in (12, 1, 2, 3):
        options.append("hacía mucho calor dentro del local")
    return p.choice(options)


def _price_good(p: Picker, ctx: ReviewContext, d: int | None) -> str:
    options = [
        "buena relación calidad-precio",
        "los precios son justos",
        "por lo que sirven, el precio está bien",
        "vale cada sol",
        f"precio razonable para {p.choice(('la zona', 'la calidad', 'lo que sirven'))}",
        "las porciones son generosas para el precio",
    ]
    if ctx.party > 1:
        options.append(f"pagamos S/ {ctx.bill:.0f} entre {ctx.party} y comimos bien")
    if ctx.promo:
        options += [f"aprovechamos la promo {p.choice(('del martes', 'de mitad de semana'))}"
                    " y el precio salió a cuenta"] * 3
    return p.choice(options)


def _price_bad(p: Picker, ctx: ReviewContext, d: int | None, strong: bool) -> str:
    if not strong:
        return p.choice(("un poquito caro", "los precios algo elevados",
                         "el precio algo alto para la porción"))
    options = [
        "un poco caro para lo que sirven",
        f"la cuenta salió más cara de lo que {we(ctx, 'esperaba', 'esperábamos')}",
        "las porciones son pequeñas para el precio",
        "carísimo para la porción que sirven",
        f"{we(ctx, 'pagué', 'pagamos')} S/ {ctx.bill:.0f} y {we(ctx, 'me quedé', 'nos quedamos')}"
        " con hambre",
    ]
    if d is not None:
        options.append(f"pagar S/ {MENU[d].price:.0f} por {el(d)} no vale la pena")
    if ctx.visits_before >= 3:
        options.append("los precios han subido bastante")
    return p.choice(options)


_MILD_GOOD = {
    FOOD: ("la comida estuvo bien", "la comida correcta", "los platos cumplen",
           "la comida estaba rica, sin más", "la sazón, correcta"),
    SERVICE: ("la atención estuvo bien", "la atención correcta", "el mozo fue amable",
              "el personal cumple"),
    AMBIENCE: ("el local es agradable", "el ambiente está bien", "el local es cómodo"),
    PRICE: ("precios razonables", "el precio está dentro de lo normal",
            "los precios están bien para la zona"),
    WAIT: ("no demoraron mucho", "la comida salió a tiempo", "la espera fue razonable"),
}


def clause(p: Picker, ctx: ReviewContext, m: Mention) -> str:
    """One clause about one aspect."""
    if m.positive and m.strength < GOOD:
        return p.choice(_MILD_GOOD[m.aspect])
    strong = m.strength < -1.75 if not m.positive else True
    if m.aspect == FOOD:
        return _food_good(p, ctx, m.dish) if m.positive else _food_bad(p, ctx, m.dish, strong)
    if m.aspect == SERVICE:
        return (_service_good(p, ctx, m.dish) if m.positive
                else _service_bad(p, ctx, m.dish, strong))
    if m.aspect == AMBIENCE:
        return _ambience_good(p, ctx) if m.positive else _ambience_bad(p, ctx, strong)
    if m.aspect == PRICE:
        return _price_good(p, ctx, m.dish) if m.positive else _price_bad(p, ctx, m.dish, strong)
    assert m.aspect == WAIT
    return _wait_good(p, ctx, m.dish) if m.positive else _wait_bad(p, ctx, m.dish, strong)


# --- assembly -------------------------------------------------------------------------------

def _same(p: Picker, parts: list[str]) -> list[str]:
    """Sentences for clauses of the same polarity."""
    if len(parts) == 1:
        return parts
    if len(parts) == 2:
        a, b = parts
        return p.choice((
            lambda: [f"{a} {y(b)} {b}"],
            lambda: [a, f"además, {b}"],
            lambda: [a, b],
            lambda: [f"{a}, {b}"],
        ))()
    a, b, c = parts[:3]
    return p.choice((
        lambda: [f"{a}, {b} {y(c)} {c}"],
        lambda: [a, f"{b} {y(c)} {c}"],
        lambda: [f"{a} {y(b)} {b}", f"además, {c}"],
    ))()


def _contrast(p: Picker, good: list[str], bad: list[str], lead_positive: bool) -> list[str]:
    if lead_positive:
        first, second = _same(p, good), _same(p, bad)
        link = p.choice(("pero", "aunque", "lo malo:", "eso sí,", "el único pero:",
                         "sin embargo,", "lástima que"))
    else:
        first, second = _same(p, bad), _same(p, good)
        link = p.choice(("aunque", "lo único rescatable:", "eso sí,", "al menos", "a favor:"))
    if link in ("pero", "aunque") and p.chance(0.6):
        return [*first[:-1], f"{first[-1]}, {link} {second[0]}", *second[1:]]
    return [*first, f"{link} {second[0]}", *second[1:]]


def _closer(p: Picker, ctx: ReviewContext, plan: Plan) -> str:
    r = ctx.rating
    if r >= 4:
        options = ["volveremos pronto" if ctx.party > 1 else "volveré pronto",
                   "sin duda regreso", "súper recomendado", "recomendadísimo",
                   f"{we(ctx, 'quedé', 'quedamos')} {me(ctx, 'encantado')}",
                   "de todas maneras volvemos", "100% recomendado",
                   f"ya es {we(ctx, 'mi', 'nuestro')} lugar favorito en {ctx.district}",
                   "gracias por todo, chicos"]
        if r == 5:
            options.append("cinco estrellas bien merecidas")
        return p.choice(options)
    if r >= 2.5:
        options = ["tiene potencial", "le doy una segunda oportunidad",
                   f"le doy {int(r)} estrellas" if r == int(r) else "ni fu ni fa",
                   "regular nomás"]
        if plan.negatives:
            fix = {FOOD: "la cocina", SERVICE: "la atención", AMBIENCE: "el ambiente",
                   PRICE: "los precios", WAIT: "los tiempos de espera"}[plan.negatives[0].aspect]
            options += [f"ojalá mejoren {fix}"] * 2
        signature = main_dish(ctx)
        if signature is not None:
            options.append(f"igual volvería por {el(signature)}")
        return p.choice(options)
    options = ["no vuelvo", "no lo recomiendo", "qué decepción", "deben mejorar mucho",
               "no regreso más", "no vale la pena", "una lástima"]
    if ctx.visits_before >= 3:
        options += ["una pena, antes era mucho mejor", "era mi lugar favorito, ya no"]
    return p.choice(options)


def render(p: Picker, ctx: ReviewContext, plan: Plan) -> str:
    """Spanish text for a review plan."""
    good = [clause(p, ctx, m) for m in plan.positives]
    bad = [clause(p, ctx, m) for m in plan.negatives]
    body = _contrast(p, good, bad, plan.lead_positive) if good and bad else _same(p, good or bad)
    if plan.informal:
        tone = ("la verdad,", "sinceramente,") if not bad or plan.lead_positive else \
            ("pucha,", "uff,", "la verdad,")
        body[0] = f"{p.choice(tone)} {body[0]}"
    sentences = [_opener(p, ctx)] if plan.opener else []
    sentences += body
    if plan.closer:
        end = _closer(p, ctx, plan)
        if p.chance(0.25):
            end = f"¡{end}!"
        sentences.append(end)
    text = join_sentences(sentences)
    if plan.emoji:
        text += " " + (p.choice(("😋", "👌", "🙌", "❤️", "👍")) if ctx.rating >= 3.5
                       else p.choice(("😡", "👎", "😒", "🙁")))
    return text
