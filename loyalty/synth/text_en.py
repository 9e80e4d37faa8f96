"""English reviews (visitors and expats in Lima), built from grammar pieces.

Peruvian dishes keep their Spanish names, as English speakers in Lima use them ("the lomo
saltado"); international dishes use their English names.
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

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOLIDAY_PHRASES = {
    1: "for Mother's Day", 2: "for Father's Day", 3: "for Fiestas Patrias",
    4: "on Christmas Eve", 5: "for New Year", 6: "for Valentine's Day",
    7: "on Pisco Sour Day", 8: "on the Santa Rosa holiday", 9: "on Día de la Canción Criolla",
    10: "on Ceviche Day",
}
_FRIED = {"M008", "M010", "M022", "M023", "M039", "M040", "M057"}
_MEAT = {"M003", "M013", "M016", "M017", "M018", "M034"}
_FRESH = {"M004", "M005", "M006", "M011", "M012"}
_WATERY = {"M044", "M045", "M049", "M050", "M051", "M055"}


def the(d: int) -> str:
    return f"the {MENU[d].en}"


def was(d: int) -> str:
    return "were" if MENU[d].en_plural else "was"


def it(d: int) -> str:
    return "they were" if MENU[d].en_plural else "it was"


def pron(d: int) -> str:
    return "they" if MENU[d].en_plural else "it"


def we(ctx: ReviewContext, alone: str, group: str) -> str:
    return alone if ctx.party == 1 else group


def _intens(p: Picker) -> str:
    return p.weighted(("really ", "super ", "very ", "incredibly ", "so ", ""),
                      (3, 1, 2, 1, 1, 3))


def _neg_intens(p: Picker, strong: bool) -> str:
    if strong:
        return p.choice(("really ", "way too ", "far too ", "incredibly ", "so "))
    return p.choice(("a bit ", "slightly ", "a little ", "somewhat "))


# --- clauses --------------------------------------------------------------------------------

def _food_good(p: Picker, ctx: ReviewContext, d: int | None) -> str:
    if d is None:
        options = [
            f"the food was {_intens(p)}{p.choice(('good', 'tasty', 'delicious', 'flavourful'))}",
            f"everything was {p.choice(('delicious', 'amazing', 'spot on', 'excellent'))}",
            "generous portions and great flavours",
            "every dish was full of flavour",
            f"the food was {p.choice(('top-notch', 'outstanding', 'just what we wanted'))}",
        ]
        if any(MENU[x].cuisine == "peruvian" for x in ctx.dishes):
            options.append("honestly some of the best Peruvian food "
                           f"{we(ctx, 'I', 'we')}'ve had")
        return p.choice(options)
    item = MENU[d]
    great = p.choice(("delicious", "amazing", "fantastic", "excellent", "superb", "outstanding",
                      "spot on", "out of this world", "incredible"))
    options = [
        lambda: f"{the(d)} {was(d)} {_intens(p)}{p.choice(('good', 'tasty', 'flavourful'))}",
        lambda: f"{the(d)} {was(d)} {great}",
        lambda: f"{we(ctx, 'I had', 'we ordered')} {the(d)} and {it(d)} {great}",
        lambda: f"{the(d)} {'are' if item.en_plural else 'is'} a must",
        lambda: f"highly recommend {the(d)}",
        lambda: f"best {item.en} {we(ctx, 'I', 'we')}'ve had in Lima",
    ]
    if item.item_id in _FRESH:
        options += [lambda: f"{the(d)} {was(d)} super fresh",
                    lambda: "the fish tasted like it had been caught that morning"]
    if item.item_id in _MEAT:
        options += [lambda: f"the meat in {the(d)} was {p.choice(('tender', 'juicy'))} and "
                            "cooked perfectly"]
    if item.item_id in _FRIED:
        options += [lambda: f"{the(d)} {was(d)} perfectly crispy"]
    if item.category == "drink":
        options += [lambda: f"{the(d)} {was(d)} perfectly balanced",
                    lambda: f"ice-cold {item.en}, just what {we(ctx, 'I', 'we')} needed"]
    if item.category == "dessert":
        options += [lambda: f"{the(d)} for dessert {was(d)} {great}",
                    lambda: f"{we(ctx, 'I', 'we')} finished with {the(d)}, {great}"]
    return p.choice(options)()


def _food_bad(p: Picker, ctx: ReviewContext, d: int | None, strong: bool) -> str:
    if d is None:
        if not strong:
            return p.choice(("the food was just okay", "nothing special food-wise",
                             "the food was a bit underwhelming", "the food lacked seasoning"))
        options = [
            f"the food arrived {p.choice(('cold', 'lukewarm', 'barely warm'))}",
            "the food wasn't up to standard",
            f"the food was {p.choice(('bland', 'tasteless', 'far too salty'))}",
        ]
        if ctx.visits_before >= 3:
            options.append("the food has really gone downhill")
        return p.choice(options)
    item = MENU[d]
    if item.category == "drink":
        options = [lambda: f"{the(d)} {was(d)} {_neg_intens(p, strong)}sweet",
                   lambda: f"{the(d)} tasted off"]
        if item.item_id in _WATERY:
            options.append(lambda: f"{the(d)} {was(d)} watered down")
        options.append(lambda: f"{the(d)} came out {'cold' if item.hot else 'warm'}")
        return p.choice(options)()
    if item.category == "dessert":
        return p.choice((f"{the(d)} {was(d)} way too sweet",
                         f"{the(d)} tasted like {it(d)} from the day before",
                         f"{the(d)} {was(d)} not fresh at all"))
    options = [
        lambda: f"{the(d)} {was(d)} {p.choice(('bland', 'tasteless'))}",
        lambda: f"{the(d)} {was(d)} {_neg_intens(p, strong)}salty",
        lambda: f"{the(d)} lacked flavour",
        lambda: f"the portion of {item.en} was {p.choice(('tiny', 'really small'))}",
    ]
    if item.hot:
        cold = p.choice(("cold", "lukewarm", "barely warm", "stone cold"))
        options += [
            lambda: f"{the(d)} arrived {cold}",
            lambda: f"{we(ctx, 'my', 'our')} {item.en} came out {cold}",
            lambda: f"{the(d)} {was(d)} {cold} by the time {pron(d)} reached the table"
            if ctx.channel == DINE_IN else f"{the(d)} arrived {cold}",
        ] * 2
    if item.item_id in _FRESH:
        options += [lambda: f"{the(d)} didn't taste fresh"]
    if item.item_id in _MEAT:
        options += [lambda: f"the meat in {the(d)} was {p.choice(('tough', 'dry', 'overcooked'))}"]
    return p.choice(options)()


def _waiter(p: Picker) -> tuple[str, str]:
    name = p.choice(WAITERS)
    return name, "waitress" if name in WAITER_FEMALE else "waiter"


def _service_off_premises(p: Picker, ctx: ReviewContext, d: int | None, good: bool,
                          strong: bool) -> str:
    """Service for delivery and takeaway: no waiter, but a rider, a counter and WhatsApp."""
    if ctx.channel == DELIVERY:
        if good:
            return p.choice((f"the delivery driver was {_intens(p)}friendly",
                             "they replied super fast on WhatsApp",
                             "everything arrived well packed, sauces included",
                             "great service on the phone"))
        if not strong:
            return p.choice(("they forgot the cutlery and the sauces with our order",
                             "customer service on WhatsApp was a bit slow"))
        options = ["the delivery driver was really rude",
                   "the order arrived incomplete and nobody answered on WhatsApp",
                   "the person taking the order on the phone was really unhelpful",
                   "customer service on WhatsApp was useless"]
        if d is not None:
            options.append(f"they forgot {the(d)} and the staff didn't care")
        return p.choice(options)
    if good:
        return p.choice(("the staff at the counter were lovely",
                         "everything was nicely packed and the staff were friendly",
                         f"the person at the counter was {_intens(p)}helpful"))
    if not strong:
        return p.choice(("service at the counter was a bit slow", "counter staff were so-so"))
    return p.choice(("the person at the counter was rude",
                     "the staff got the takeaway order wrong",
                     "the counter staff couldn't have cared less"))


def _service_good(p: Picker, ctx: ReviewContext, d: int | None) -> str:
    if ctx.channel != DINE_IN:
        return _service_off_premises(p, ctx, d, True, True)
    name, role = _waiter(p)
    options = [
        f"our {role}, {name}, was {_intens(p)}"
        f"{p.choice(('attentive', 'friendly', 'helpful', 'lovely', 'kind'))}",
        f"{name} took great care of {we(ctx, 'me', 'us')}",
        f"the staff were {_intens(p)}{p.choice(('friendly', 'welcoming', 'attentive'))}",
        f"service was {p.choice(('excellent', 'impeccable', 'top-notch', 'warm and friendly'))}",
        f"great service from {name}",
        f"{name} made {we(ctx, 'me', 'us')} feel really welcome",
    ]
    if d is not None:
        options += [f"{name} recommended {the(d)} and it was a great call"] * 3
    return p.choice(options)


def _service_bad(p: Picker, ctx: ReviewContext, d: int | None, strong: bool) -> str:
    if ctx.channel != DINE_IN:
        return _service_off_premises(p, ctx, d, False, strong)
    name, role = _waiter(p)
    if not strong:
        return p.choice(("service was a bit inattentive", "the service could be better",
                         f"our {role} seemed distracted", "the staff seemed a bit rushed"))
    options = [
        f"our {role} was {p.choice(('quite ', 'really ', 'incredibly ', ''))}"
        f"{p.choice(('rude', 'unfriendly', 'dismissive'))}",
        f"the {role} seemed annoyed to be serving {we(ctx, 'me', 'us')}",
        f"nobody from the staff came to check on {we(ctx, 'me', 'us')}",
        f"{we(ctx, 'I', 'we')} had to flag down the {role} {p.choice(('three', 'four', 'five'))}"
        " times",
        f"the {role} got {we(ctx, 'my', 'our')} order wrong and didn't even apologise",
        f"service was {p.choice(('terrible', 'awful', 'really poor', 'a joke'))}",
        "the staff were more interested in their phones than in the tables",
    ]
    if d is not None:
        options.append(f"the {role} brought {the(d)} when {we(ctx, 'I', 'we')} had ordered "
                       "something else")
    return p.choice(options)


def _minutes(strength: float) -> int:
    return int(min(max(round((22 + 14 * -strength) / 5) * 5, 25), 95))


def _wait_good(p: Picker, ctx: ReviewContext, d: int | None) -> str:
    if ctx.channel == DELIVERY:
        return p.choice((f"delivery took just {p.choice((20, 25, 30))} minutes",
                         "the delivery arrived earlier than expected",
                         "delivery was quick and well packed"))
    if ctx.channel == TAKEAWAY:
        return p.choice(("the order was ready right on time",
                         f"the order was ready in {p.choice(('ten', 'fifteen', 'twenty'))}"
                         " minutes"))
    options = [
        "the food came out quickly",
        f"{we(ctx, 'I', 'we')} barely had to wait",
        "everything came out fast",
        "even though it was packed, the food came out quickly",
        f"service was {p.choice(('quick', 'fast', 'efficient'))}",
    ]
    if d is not None:
        options.append(f"{the(d)} came out in {p.choice(('ten', 'fifteen'))} minutes")
    return p.choice(options)


def _wait_bad(p: Picker, ctx: ReviewContext, d: int | None, strong: bool) -> str:
    m = _minutes(ctx.scores[WAIT])
    if not strong:
        return p.choice(("the food took a while", "there was a bit of a wait",
                         "service was a little slow"))
    if ctx.channel == DELIVERY:
        return p.choice((f"delivery took over {p.choice(('an hour', 'an hour and a half'))}",
                         f"the order arrived {m - 15} minutes late",
                         f"{we(ctx, 'I', 'we')} waited {m} minutes for the delivery"))
    if ctx.channel == TAKEAWAY:
        return p.choice((f"the takeaway order took {m} minutes",
                         f"{we(ctx, 'I', 'we')} had to wait {m} minutes at the counter",
                         "the order wasn't ready at the agreed time and the wait was endless"))
    options = [
        f"{we(ctx, 'I', 'we')} waited over {m} minutes for "
        + (the(d) if d is not None else we(ctx, "my food", "our food")),
        f"the food took almost {m} minutes",
        "service was painfully slow",
        f"service was {_neg_intens(p, True)}slow",
        f"it took {m - 10} minutes just to get the bill",
        "the wait for food was endless",
    ]
    if d is not None:
        options.append(f"{the(d)} took {m} minutes to come out")
    if ctx.party > 1:
        options.append(f"we waited {m - 5} minutes for a table")
    return p.choice(options)


def _ambience_good(p: Picker, ctx: ReviewContext) -> str:
    options = [
        f"the atmosphere is {_intens(p)}{p.choice(('cozy', 'lovely', 'relaxed', 'welcoming'))}",
        f"nice {p.choice(('decor', 'interior', 'vibe'))} and "
        f"{p.choice(('good music', 'a relaxed feel'))}",
        "great music and a good vibe",
        "perfect for " + ("a date" if ctx.party == 2
                          else p.choice(("a family meal", "a night out with friends"))
                          if ctx.party > 2 else "a quiet meal on your own"),
        "a quiet place where you can actually talk",
    ]
    if ctx.district in ("Barranco", "Miraflores"):
        options.append("the terrace is gorgeous")
    return p.choice(options)


def _ambience_bad(p: Picker, ctx: ReviewContext, strong: bool) -> str:
    if not strong:
        return p.choice(("it was a bit noisy", "the music was a little loud for my taste",
                         "the place felt a bit crowded and noisy"))
    options = [
        "it was far too noisy",
        "the music was so loud "
        + we(ctx, "I couldn't hear myself think", "we couldn't hear each other"),
        "the place was packed and really loud",
        "the bathrooms weren't clean",
        "tables are crammed together and the atmosphere is chaotic",
    ]
    if ctx.month in (12, 1, 2, 3):
        options.append("it was really hot inside, the place needs air conditioning")
    return p.choice(options)


def _price_good(p: Picker, ctx: ReviewContext, d: int | None) -> str:
    options = ["great value for money", "fair prices", "good value for the quality",
               "worth every sol", "generous portions for the price"]
    if ctx.party > 1:
        options.append(f"we paid S/ {ctx.bill:.0f} for {ctx.party} people and ate really well")
    if ctx.promo:
        options += ["we went for the midweek deal and the price was great value"] * 3
    return p.choice(options)


def _price_bad(p: Picker, ctx: ReviewContext, d: int | None, strong: bool) -> str:
    if not strong:
        return p.choice(("slightly on the pricey side", "a little expensive",
                         "prices are a bit high for the portions"))
    options = [
        "a bit pricey for what you get",
        "overpriced for the portion size",
        f"the bill came to more than {we(ctx, 'I', 'we')} expected",
        "small portions for the price",
        f"{we(ctx, 'I', 'we')} paid S/ {ctx.bill:.0f} and left hungry",
    ]
    if d is not None:
        options.append(f"S/ {MENU[d].price:.0f} for {the(d)} is overpriced")
    if ctx.visits_before >= 3:
        options.append("prices have gone up a lot lately")
    return p.choice(options)


_MILD_GOOD = {
    FOOD: ("the food was decent", "the food was fine", "the dishes were okay",
           "the food was tasty enough"),
    SERVICE: ("service was okay", "the staff were polite", "service was fine"),
    AMBIENCE: ("the place is pleasant enough", "nice enough atmosphere",
               "the place is comfortable"),
    PRICE: ("prices are reasonable", "prices are about average", "fair enough prices"),
    WAIT: ("the food didn't take long", "the food came out on time", "the wait was reasonable"),
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


# --- openers and closers --------------------------------------------------------------------

def _company(ctx: ReviewContext, p: Picker) -> str:
    if ctx.party == 1:
        return p.choice(("", " on my own"))
    if ctx.party == 2:
        partner = "husband" if ctx.female else "wife"
        return " with " + p.choice((f"my {partner}", "my partner", "a friend", "my mom",
                                    "my sister"))
    if ctx.party <= 5:
        options = ["family", "some friends", "my parents", "the kids", "family"]
        if ctx.daypart == LUNCH and ctx.weekday < 5:
            options += ["colleagues", "people from work"]
        return " with " + p.choice(options)
    return p.choice((f" with a group of {ctx.party}", " for a birthday",
                     " with the whole family"))


def _when(ctx: ReviewContext, p: Picker, meal_named: bool = False) -> str:
    """When it happened; skips "at lunchtime" when the sentence already says "lunch"."""
    if ctx.holiday in HOLIDAY_PHRASES and p.chance(0.8):
        return " " + HOLIDAY_PHRASES[ctx.holiday]
    day = WEEKDAYS[ctx.weekday]
    lunch = "" if meal_named else p.choice((" at lunchtime", ""))
    part = {BREAKFAST: " morning", LUNCH: lunch,
            DINNER: p.choice((" night", " evening")), LATE: " night"}[ctx.daypart]
    return p.weighted((f" on {day}{part}", f" last {day}", " over the weekend"
                       if ctx.weekday >= 5 else f" on a {day}", ""), (3, 2, 1, 2))


def _opener(p: Picker, ctx: ReviewContext) -> str:
    place = p.choice((f" at the {ctx.district} branch", f" at the {ctx.district} location",
                      "", ""))
    if ctx.channel == DELIVERY:
        return p.choice((f"ordered delivery{_when(ctx, p)}",
                         f"we ordered delivery for {ctx.party}" if ctx.party > 1
                         else f"ordered delivery to my place{_when(ctx, p)}",
                         f"got delivery from the {ctx.district} location{_when(ctx, p)}"))
    if ctx.channel == TAKEAWAY:
        return p.choice((f"picked up a takeaway order{_when(ctx, p)}",
                         f"got takeaway from the {ctx.district} location"))
    meal = {BREAKFAST: "breakfast", LUNCH: "lunch", DINNER: "dinner",
            LATE: p.choice(("a late dinner", "drinks"))}[ctx.daypart]
    if ctx.visits_before == 0 and p.chance(0.5):
        return p.choice((f"first time at the {ctx.district} location",
                         f"{we(ctx, 'my', 'our')} first visit{place.replace(' at ', ' to ')}"))
    if ctx.visits_before >= 6 and p.chance(0.4):
        return p.choice((f"{we(ctx, 'I', 'we')} come here often",
                         f"I'm a regular at the {ctx.district} branch",
                         f"{we(ctx, 'I', 'we')} keep coming back to this place"))
    return p.choice((
        f"came here for {meal}{_when(ctx, p, True)}{_company(ctx, p)}",
        f"{we(ctx, 'I', 'we')} had {meal}{place}{_when(ctx, p, True)}",
        f"went for {meal}{_company(ctx, p)}{place}",
    ))


def _closer(p: Picker, ctx: ReviewContext, plan: Plan) -> str:
    r = ctx.rating
    if r >= 4:
        options = ["will definitely be back", "highly recommend", "can't wait to come back",
                   f"{we(ctx, 'I', 'we')}'ll be back soon",
                   f"one of {we(ctx, 'my', 'our')} favourite spots in {ctx.district}",
                   "recommended", "a must if you're in Lima"]
        if r == 5:
            options.append("five stars, well deserved")
        return p.choice(options)
    if r >= 2.5:
        options = ["has potential", f"{we(ctx, 'I', 'we')}'ll give it another chance",
                   f"{int(r)} stars" if r == int(r) else "mixed feelings", "it was okay"]
        if plan.negatives:
            fix = {FOOD: "the kitchen", SERVICE: "the service", AMBIENCE: "the atmosphere",
                   PRICE: "the prices", WAIT: "the waiting times"}[plan.negatives[0].aspect]
            options += [f"hope they sort out {fix}"] * 2
        signature = main_dish(ctx)
        if signature is not None:
            options.append(f"would still come back for {the(signature)}")
        return p.choice(options)
    options = ["won't be returning", "wouldn't recommend", "really disappointing",
               "not worth it", "such a shame"]
    if ctx.visits_before >= 3:
        options += ["it used to be so much better", "this used to be my favourite spot"]
    return p.choice(options)


# --- assembly -------------------------------------------------------------------------------

def _same(p: Picker, parts: list[str]) -> list[str]:
    if len(parts) == 1:
        return parts
    if len(parts) == 2:
        a, b = parts
        return p.choice((lambda: [f"{a} and {b}"], lambda: [a, f"also, {b}"], lambda: [a, b],
                         lambda: [a, f"on top of that, {b}"]))()
    a, b, c = parts[:3]
    return p.choice((lambda: [f"{a}, {b} and {c}"], lambda: [a, f"{b} and {c}"],
                     lambda: [f"{a} and {b}", f"also, {c}"]))()


def _contrast(p: Picker, good: list[str], bad: list[str], lead_positive: bool) -> list[str]:
    if lead_positive:
        first, second = _same(p, good), _same(p, bad)
        link = p.choice(("but", "although", "the only downside:", "that said,", "however,",
                         "shame that"))
    else:
        first, second = _same(p, bad), _same(p, good)
        link = p.choice(("although", "the only redeeming thing:", "to be fair,", "at least",
                         "on the plus side,"))
    if link in ("but", "although") and p.chance(0.6):
        return [*first[:-1], f"{first[-1]}, {link} {second[0]}", *second[1:]]
    return [*first, f"{link} {second[0]}", *second[1:]]


def render(p: Picker, ctx: ReviewContext, plan: Plan) -> str:
    """English text for a review plan."""
    good = [clause(p, ctx, m) for m in plan.positives]
    bad = [clause(p, ctx, m) for m in plan.negatives]
    body = _contrast(p, good, bad, plan.lead_positive) if good and bad else _same(p, good or bad)
    if plan.informal:
        tone = ("honestly,", "wow,") if not bad or plan.lead_positive else ("ugh,", "honestly,")
        body[0] = f"{p.choice(tone)} {body[0]}"
    sentences = [_opener(p, ctx)] if plan.opener else []
    sentences += body
    if plan.closer:
        end = _closer(p, ctx, plan)
        sentences.append(f"{end}!" if p.chance(0.3) else end)
    text = join_sentences(sentences)
    if plan.emoji:
        text += " " + (p.choice(("😋", "👌", "🙌", "❤️", "👍")) if ctx.rating >= 3.5
                       else p.choice(("😡", "👎", "😒", "🙁")))
    return text

