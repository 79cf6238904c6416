"""Fixed catalogues the simulator draws from: merchants by MCC, names, towns.

Why fixed lists (not a faker library): the output must be byte-identical for a seed on any machine,
and the merchant mix is what screening reads — every MCC here is chosen on purpose. The background
catalogue (``EVERYDAY``) holds no restricted, cash or foreign merchant; those live in their own
lists and are only used by planted cases (or, for cash, by clients whose plan allows it).
"""

from __future__ import annotations

# (mcc, channel, weight, median_pence, sigma, merchants)  channel: POS or ECOM
EVERYDAY: tuple[tuple[str, str, int, int, float, tuple[str, ...]], ...] = (
    ("5411", "POS", 30, 1800, 0.6, ("TESCO STORES 2041", "SAINSBURYS S/MKT 0712", "ASDA SUPERSTORE 4410",
                                     "CO-OP GROUP 180441", "LIDL GB SALFORD", "ALDI 84 STOCKPORT",
                                     "MORRISONS 0299", "ICELAND FOODS 771")),
    ("5499", "POS", 10, 600, 0.5, ("SPAR 2231", "ONE STOP 4419", "NISA LOCAL", "CORNER SHOP & DELI")),
    ("5912", "POS", 10, 900, 0.6, ("BOOTS 1123", "SUPERDRUG 0331", "LLOYDS PHARMACY 42", "WELL PHARMACY")),
    ("4111", "POS", 6, 450, 0.4, ("TFGM METROLINK", "NORTHERN TRAINS", "TRANSPORT FOR GREATER MCR")),
    ("4121", "POS", 5, 1200, 0.5, ("STREAMLINE TAXIS", "STREETCARS MCR", "BLUE LINE TAXIS")),
    ("4121", "ECOM", 2, 1100, 0.5, ("UBER *TRIP", "BOLT.EU/O/2304")),
    ("4131", "POS", 3, 800, 0.4, ("STAGECOACH BUS", "FIRST BUS MCR")),
    ("5812", "POS", 5, 2200, 0.5, ("WETHERSPOON CAFE 88", "NANDO'S PICCADILLY", "CRÊPERIE ANNÉE", "ZIZZI 0412",
                                     "ROBERTS, BAKERS & CO")),
    ("5814", "POS", 8, 700, 0.5, ("GREGGS 1554", "COSTA COFFEE 3381", "CAFÉ NERO 318", "PRÊT A MANGER",
                                     "MCDONALDS 1129")),
    ("7832", "POS", 2, 1100, 0.3, ("ODEON CINEMAS", "VUE CINEMAS", "CINEWORLD 044")),
    ("7997", "POS", 3, 2500, 0.4, ("PURE GYM", "LEISURE CENTRE SWIM", "BETTER LEISURE")),
    ("5311", "POS", 4, 2800, 0.6, ("MARKS&SPENCER 0212", "DEBENHAMS", "JOHN LEWIS 0771", "B&M RETAIL")),
    ("5651", "POS", 4, 3000, 0.6, ("PRIMARK 221", "NEXT RETAIL", "TK MAXX 0551", "M&CO")),
    ("7230", "POS", 2, 1800, 0.4, ("HAIR BY JOSÉ", "TONI&GUY", "SUPERCUTS 12")),
    ("5999", "ECOM", 6, 1600, 0.7, ("AMAZON.CO.UK*2K4", "AMZN MKTP UK", "EBAY O*12-0981")),
    ("8043", "POS", 1, 4500, 0.5, ("SPECSAVERS 0911", "VISION EXPRESS")),
    ("5200", "POS", 2, 2400, 0.6, ("B&Q 1221", "WICKES 0114", "HOMEBASE")),
)

# Large-ticket merchants, used by planted drains (permitted MCCs, daytime, big amounts).
BIG_TICKET: tuple[tuple[str, str, str], ...] = (
    ("5732", "ECOM", "CURRYS PC WORLD"),
    ("5732", "POS", "CURRYS 0412"),
    ("5311", "POS", "JOHN LEWIS 0771"),
    ("5944", "POS", "H SAMUEL 0221"),
    ("5999", "ECOM", "AMAZON.CO.UK*9Z1"),
    ("5945", "POS", "SMYTHS TOYS 041"),
    ("5732", "ECOM", "ARGOS LTD"),
)

# Restricted merchants by group (DOMAIN.md "Restricted spending"): used only by planted cases.
RESTRICTED: dict[str, tuple[tuple[str, str, str], ...]] = {
    "alcohol": (("5921", "POS", "WINE RACK 12"), ("5813", "POS", "THE RED LION"), ("5921", "POS", "BARGAIN BOOZE 88")),
    "tobacco": (("5993", "POS", "TOBACCO WORLD"), ("5993", "POS", "VAPE & SMOKE 2")),
    "gambling": (("7995", "POS", "PADDY POWER 0455"), ("7801", "ECOM", "BET365"), ("7800", "POS", "NATIONAL LOTTERY"),
                 ("7995", "POS", "WILLIAM HILL 213")),
    "adult": (("7273", "ECOM", "DATING ONLINE LTD"), ("7297", "POS", "RELAX MASSAGE PARLOUR")),
    "pawn": (("5933", "POS", "CASH CONVERTERS 32"),),
    "quasi_cash": (("6051", "ECOM", "MONEYPAY VOUCHERS"), ("6540", "ECOM", "PREPAID TOPUP SVC")),
    "money_transfer": (("4829", "POS", "WESTERN UNION 0711"), ("4829", "ECOM", "MONEYGRAM ONLINE")),
}

ATM_MERCHANTS: tuple[str, ...] = ("NATWEST ATM SALFORD", "CARDTRONICS ATM 2281", "LINK ATM POST OFFICE",
                                  "BARCLAYS ATM STOCKPORT", "HSBC ATM BOLTON")

# Foreign merchants (non-GBR), used only by planted spending_abroad cases.
ABROAD: tuple[tuple[str, str, str, str], ...] = (
    ("5411", "MERCADONA 0442", "MALAGA", "ESP"),
    ("5812", "RESTAURANTE EL PUERTO", "MALAGA", "ESP"),
    ("5411", "CARREFOUR CITY", "PARIS", "FRA"),
    ("5814", "CAFÉ DE LA GARE", "LILLE", "FRA"),
    ("5411", "PINGO DOCE", "FARO", "PRT"),
    ("5411", "DUNNES STORES", "DUBLIN", "IRL"),
    ("5912", "FARMACIA CENTRAL", "ALICANTE", "ESP"),
)

NIGHT_MERCHANTS: tuple[tuple[str, str, str], ...] = (
    ("5499", "POS", "24HR GARAGE SHOP"),
    ("5814", "POS", "LATE NIGHT KEBAB"),
    ("5999", "ECOM", "AMZN MKTP UK"),
    ("4121", "ECOM", "UBER *TRIP"),
)

TOWNS: tuple[str, ...] = ("SALFORD", "MANCHESTER", "STOCKPORT", "BOLTON", "OLDHAM", "WIGAN", "ROCHDALE", "BURY")

FIRST_NAMES: tuple[str, ...] = (
    "MARY", "JOHN", "SUSAN", "DAVID", "LINDA", "PETER", "KAREN", "PAUL", "ANNE", "MARK", "JANET", "STEVEN",
    "HELEN", "ANDREW", "JULIE", "GARY", "SARAH", "IAN", "DAWN", "KEVIN", "AMINA", "TARIQ", "PRIYA", "RAJ",
    "CHLOE", "LIAM", "GRACE", "OWEN", "ZOE", "NIAMH", "SEAN", "AISHA", "KWAME", "EWA", "TOMASZ", "RENÉE",
)
SURNAMES: tuple[str, ...] = (
    "SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS", "WILSON", "JOHNSON", "DAVIES", "ROBINSON", "WRIGHT",
    "THOMPSON", "EVANS", "WALKER", "WHITE", "ROBERTS", "GREEN", "HALL", "WOOD", "JACKSON", "CLARKE", "KHAN",
    "PATEL", "HUSSAIN", "ALI", "BEGUM", "O'BRIEN", "MURPHY", "NOWAK", "KOWALSKI", "OKAFOR", "MENSAH", "HUGHES",
)

AGENCIES: tuple[str, ...] = ("BRIGHTER CARE LTD", "HOME INSTEAD SALFORD", "CAREWATCH NORTH", "BLUEBIRD CARE",
                             "ALLIED HEALTHCARE", "CARING HANDS AGENCY", "KARE PLUS MCR")
PAYROLL_BUREAUX: tuple[str, ...] = ("PAYROLL4CARE LTD", "DP PAYROLL SERVICES", "PEOPLEPLUS PAYROLL")
SUPPLIERS: tuple[str, ...] = ("CAREFREE MOBILITY", "ABLE AIDS LTD", "DAY CENTRE TRUST", "COMMUNITY TRANSPORT CIC")
TEAMS: tuple[str, ...] = ("North", "South", "East", "West", "Central")
