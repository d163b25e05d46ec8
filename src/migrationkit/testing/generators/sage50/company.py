"""The company the generator builds: a UK homeware wholesaler's reference data.

Its chart of accounts (Sage 50's default UK layout), tax codes, departments and banks, the names
and places its customers and suppliers are made from, its product catalogue and its overhead
suppliers.  The generator draws from these tables with its seeded random generator.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = [
    "BANK",
    "BANK_TEMPLATES",
    "CARD",
    "CASH",
    "CATALOGUE",
    "CATEGORIES",
    "CHART",
    "COLOURS",
    "CREDITORS",
    "DEBTORS",
    "DEPARTMENTS",
    "DEPOSIT",
    "EU",
    "EURBANK",
    "FOREIGN",
    "FOREIGN_FIRST",
    "FOREIGN_PRICE",
    "FXVAR",
    "INACTIVE_NOMINALS",
    "NO_TAX",
    "OVERHEAD_SUPPLIERS",
    "PACKS",
    "PTAX",
    "RETAINED",
    "STAX",
    "TAX_CODES",
    "TAX_RATE",
    "UK_FIRST",
    "UK_SPECIAL",
    "UK_STREETS",
    "UK_SURNAMES",
    "UK_TOWNS",
    "UK_TRADES",
    "VATLIAB",
    "nominal_type",
    "tax_record",
]

# --------------------------------------------------------------------------------------------
# Reference data: the chart, tax codes, departments, names

# (code, name, control role)
CHART: tuple[tuple[str, str, str | None], ...] = (
    ("0020", "Plant and Machinery", None),
    ("0021", "Plant/Machinery Depreciation", None),
    ("0030", "Office Equipment", None),
    ("0031", "Office Equipment Depreciation", None),
    ("0040", "Furniture and Fixtures", None),
    ("0041", "Furniture/Fixture Depreciation", None),
    ("0050", "Motor Vehicles", None),
    ("0051", "Motor Vehicles Depreciation", None),
    ("1001", "Stock", None),
    ("1100", "Debtors Control Account", "debtors_control"),
    ("1103", "Prepayments", None),
    ("1200", "Bank Current Account", None),
    ("1210", "Bank Deposit Account", None),
    ("1230", "Petty Cash", None),
    ("1240", "Company Credit Card", None),
    ("1250", "Bank Euro Account", None),
    ("2100", "Creditors Control Account", "creditors_control"),
    ("2109", "Accruals", None),
    ("2200", "Sales Tax Control Account", "sales_tax_control"),
    ("2201", "Purchase Tax Control Account", "purchase_tax_control"),
    ("2202", "VAT Liability", "vat_liability"),
    ("2210", "P.A.Y.E. and N.I.", None),
    ("2220", "Net Wages", None),
    ("2230", "Pension Fund", None),
    ("2300", "Bank Loan", None),
    ("3000", "Ordinary Shares", None),
    ("3200", "Profit and Loss Account", "retained_earnings"),
    ("4000", "Sales - UK Trade", "default_sales"),
    ("4009", "Discounts Allowed", "sales_discount"),
    ("4010", "Sales - Online Marketplaces", None),
    ("4020", "Sales - Export", None),
    ("4200", "Sales - Design and Merchandising", None),
    ("4900", "Miscellaneous Income", None),
    ("4902", "Commissions Received", None),
    ("4903", "Insurance Claims", None),
    ("4904", "Rent Income", None),
    ("4905", "Distribution and Carriage", None),
    ("5000", "Materials Purchased", None),
    ("5001", "Materials Imported", None),
    ("5009", "Discounts Taken", "purchase_discount"),
    ("5100", "Carriage Inwards", None),
    ("6100", "Sales Commissions", None),
    ("6201", "Advertising", None),
    ("6900", "Miscellaneous Expenses", None),
    ("7000", "Gross Wages", None),
    ("7006", "Employers N.I.", None),
    ("7007", "Employers Pensions", None),
    ("7100", "Rent", None),
    ("7102", "Water Rates", None),
    ("7103", "General Rates", None),
    ("7104", "Premises Insurance", None),
    ("7200", "Electricity", None),
    ("7201", "Gas", None),
    ("7300", "Fuel and Oil", None),
    ("7400", "Travelling", None),
    ("7402", "Hotels", None),
    ("7406", "Subsistence", None),
    ("7500", "Printing", None),
    ("7501", "Postage and Carriage", None),
    ("7502", "Telephone", None),
    ("7503", "Internet and Software", None),
    ("7504", "Office Stationery", None),
    ("7600", "Legal Fees", None),
    ("7601", "Audit and Accountancy Fees", None),
    ("7700", "Equipment Hire", None),
    ("7800", "Repairs and Renewals", None),
    ("7801", "Cleaning", None),
    ("7901", "Bank Charges", None),
    ("7903", "Loan Interest Paid", None),
    ("7906", "Exchange Rate Variance", "exchange_variance"),
    ("8000", "Depreciation", None),
    ("8100", "Bad Debt Write Off", None),
    ("9998", "Suspense Account", "suspense"),
    ("9999", "Mispostings Account", "mispostings"),
)
INACTIVE_NOMINALS = frozenset({"7700"})

_TYPE_RANGES = (
    (999, "fixed_assets"), (1999, "current_assets"), (2999, "liabilities"), (3999, "capital"),
    (4999, "sales"), (5999, "purchases"), (6999, "direct_expenses"), (9999, "overheads"),
)  # fmt: skip


def nominal_type(code: str) -> str:
    value = int(code[:4])
    return next(kind for top, kind in _TYPE_RANGES if value <= top)


DEBTORS, CREDITORS, STAX, PTAX, VATLIAB = "1100", "2100", "2200", "2201", "2202"
FXVAR, RETAINED = "7906", "3200"
BANK, DEPOSIT, CASH, CARD, EURBANK = "1200", "1210", "1230", "1240", "1250"

# (code, rate, description, in_vat_return, ec_sales, ec_purchases, ec_type, reverse_charge)
TAX_CODES: tuple[tuple[str, str, str, bool, bool, bool, str | None, bool], ...] = (
    ("T0", "0.00", "Zero rated", True, False, False, None, False),
    ("T1", "20.00", "Standard rate", True, False, False, None, False),
    ("T2", "0.00", "Exempt", True, False, False, None, False),
    ("T4", "0.00", "EC sales of goods", True, True, False, "goods", False),
    ("T5", "5.00", "Lower rate", True, False, False, None, False),
    ("T7", "0.00", "EC purchases of goods, zero rated", True, False, True, "goods", False),
    ("T8", "20.00", "EC purchases of goods, standard rated", True, False, True, "goods", False),
    ("T9", "0.00", "Transactions not involving VAT", False, False, False, None, False),
    ("T20", "20.00", "Reverse charge", True, False, False, None, True),
    ("T22", "0.00", "EC sales of services", True, True, False, "services", False),
    ("T23", "0.00", "EC purchases of services, zero", True, False, True, "services", False),
    ("T24", "20.00", "EC purchases of services, standard", True, False, True, "services", False),
)
TAX_RATE = {code: Decimal(rate) / 100 for code, rate, *_ in TAX_CODES}
# Format 1.0 carries no notional VAT: these codes always have tax 0.00
# (docs/formats/sage50-json.md §6).
NO_TAX = frozenset(c[0] for c in TAX_CODES if c[5] or c[7])

DEPARTMENTS = (
    (1, "Trade Sales"), (2, "Online and Retail"), (3, "Export"),
    (4, "Warehouse and Distribution"), (5, "Administration"),
)  # fmt: skip

EU = ("FR", "DE", "DK", "IE", "ES", "PT", "NL", "FI", "AT")
FOREIGN_PRICE = {"EUR": Decimal("1.17"), "USD": Decimal("1.28")}
PACKS = (6, 6, 12, 12, 12, 18, 24, 24, 36, 48, 60, 72, 96, 144)

UK_TOWNS = (
    ("Ashbourne", "Derbyshire", "DE6"), ("Bakewell", "Derbyshire", "DE45"),
    ("Harrogate", "North Yorkshire", "HG1"), ("Whitby", "North Yorkshire", "YO21"),
    ("Skipton", "North Yorkshire", "BD23"), ("Kendal", "Cumbria", "LA9"),
    ("Penrith", "Cumbria", "CA11"), ("Hexham", "Northumberland", "NE46"),
    ("Alnwick", "Northumberland", "NE66"), ("Ludlow", "Shropshire", "SY8"),
    ("Malvern", "Worcestershire", "WR14"), ("Frome", "Somerset", "BA11"),
    ("Totnes", "Devon", "TQ9"), ("Rye", "East Sussex", "TN31"), ("Oakham", "Rutland", "LE15"),
    ("Stamford", "Lincolnshire", "PE9"), ("Sherborne", "Dorset", "DT9"),
    ("Buxton", "Derbyshire", "SK17"), ("Keswick", "Cumbria", "CA12"),
    ("Marlborough", "Wiltshire", "SN8"), ("Cirencester", "Gloucestershire", "GL7"),
    ("Whitstable", "Kent", "CT5"), ("Southwold", "Suffolk", "IP18"), ("Holt", "Norfolk", "NR25"),
    ("Beverley", "East Yorkshire", "HU17"), ("Pitlochry", "Perthshire", "PH16"),
    ("St Andrews", "Fife", "KY16"), ("Tenby", "Pembrokeshire", "SA70"),
    ("Llandeilo", "Carmarthenshire", "SA19"), ("Hay-on-Wye", "Powys", "HR3"),
    ("Enniskillen", "County Fermanagh", "BT74"), ("Ilkley", "West Yorkshire", "LS29"),
    ("Saffron Walden", "Essex", "CB10"), ("Bridport", "Dorset", "DT6"),
    ("Leek", "Staffordshire", "ST13"), ("Morpeth", "Northumberland", "NE61"),
)  # fmt: skip
UK_STREETS = (
    "High Street", "Market Place", "Church Street", "Bridge Street", "Station Road", "Mill Lane",
    "King Street", "Castle Street", "Victoria Road", "The Parade", "Sheep Street",
    "Silver Street", "Fore Street", "Chapel Walk", "North Road",
)  # fmt: skip
UK_TRADES = (
    "Cookshop", "Home Store", "Kitchen Company", "Interiors", "Gift Shop", "Garden Centre",
    "Tableware", "Home and Living", "Emporium", "Trading Company", "Department Store",
    "Homewares", "Cook and Dine", "Hardware",
)  # fmt: skip
UK_SURNAMES = (
    "Pemberton", "Hargreaves", "Ashworth", "Fairbairn", "Lockwood", "Thackeray", "Burgess",
    "Kettlewell", "Pennington", "Rushworth", "Ainsley", "Blackwood", "Cartwright", "Dimmock",
    "Eastwood", "Fenwick", "Gosling", "Hebblethwaite",
)  # fmt: skip
UK_FIRST = (
    "Priya", "Gareth", "Hannah", "Tom", "Aisha", "Rhys", "Megan", "Callum", "Fiona", "Imran",
    "Chloe", "Owen", "Siân", "Niamh", "Ewan", "Zoë", "Dafydd", "Ruth",
)  # fmt: skip
# Names that must appear early so that every file shows Welsh, Irish and Gaelic spellings.
UK_SPECIAL = (
    ("Siop Gegin Llŷn Cyf", "Pwllheli", "Gwynedd", "LL53"),
    ("Tŷ Cegin Aberaeron", "Aberaeron", "Ceredigion", "SA46"),
    ("Ó Néill Home and Kitchen Ltd", "Newry", "County Down", "BT34"),
    ("MacLeòid Home Store", "Stornoway", "Isle of Lewis", "HS1"),
    ("Crochendy Ceredigion Cyf", "Cardigan", "Ceredigion", "SA43"),
)

# country -> (currency, towns (town, region, postcode), name templates, surnames, phone, vat)
FOREIGN: dict[str, tuple[str, tuple[tuple[str, str, str], ...], tuple[str, ...],
                          tuple[str, ...], str, str]] = {
    "FR": ("EUR",
           (("Lyon", "Rhône", "69002"), ("Annecy", "Haute-Savoie", "74000"),
            ("Besançon", "Doubs", "25000"), ("Nîmes", "Gard", "30000"),
            ("Angoulême", "Charente", "16000"), ("Orléans", "Loiret", "45000"),
            ("Sète", "Hérault", "34200"), ("Épinal", "Vosges", "88000")),
           ("Maison {s} SARL", "Cuisine et Céramique {t} SAS", "Épicerie Fine {s}",
            "La Table de {t} SARL", "Café {s} et Fils", "Comptoir {s} SAS"),
           ("Lefèvre", "Bérard", "Rousseau", "Mercier", "Faure", "Noël", "Bouvier", "Chéreau",
            "Lémery", "Dufrêne", "Gaëtan", "Hélie"),
           "+33 4 72 {a} {b}", "FR{d11}"),
    "DE": ("EUR",
           (("München", "Bayern", "80331"), ("Köln", "Nordrhein-Westfalen", "50667"),
            ("Düsseldorf", "Nordrhein-Westfalen", "40213"),
            ("Lübeck", "Schleswig-Holstein", "23552"), ("Nürnberg", "Bayern", "90402"),
            ("Würzburg", "Bayern", "97070"),
            ("Göttingen", "Niedersachsen", "37073")),
           ("{s} Haushaltswaren GmbH", "Küchenhaus {s} KG", "Schöner Wohnen {t} GmbH",
            "Porzellanhaus {s} e.K.", "Wohnkultur {s} GmbH"),
           ("Müller", "Weiß", "Groß", "Böhm", "Schäfer", "Krüger", "Köhler", "Jäger", "Löffler",
            "Fröhlich", "Strauß", "Gräf"),
           "+49 89 {a}{b}", "DE{d9}"),
    "DK": ("EUR",
           (("København", "Hovedstaden", "1620"), ("Aarhus", "Midtjylland", "8000"),
            ("Aalborg", "Nordjylland", "9000"), ("Odense", "Syddanmark", "5000"),
            ("Ærøskøbing", "Syddanmark", "5970")),
           ("{s} Design ApS", "{s} Køkken og Bolig ApS", "Boligbutikken {t} ApS",
            "Hjem og Have {s} A/S"),
           ("Søren Kjær", "Bjørnholm", "Ødegaard", "Mølgaard", "Højgaard", "Brøndum",
            "Skovgård", "Lærkesen"),
           "+45 33 {a} {b}", "DK{d8}"),
    "IE": ("EUR",
           (("Galway", "Co. Galway", "H91 E2K3"), ("Cork", "Co. Cork", "T12 X70A"),
            ("Kilkenny", "Co. Kilkenny", "R95 TX49"), ("Dingle", "Co. Kerry", "V92 FD79")),
           ("{s} Home and Kitchen Ltd", "{s} Cookshop", "The {t} Kitchen Store",
            "Teach {s} Homewares"),
           ("Ó Briain", "Ní Bhriain", "Ó Súilleabháin", "Mac Giolla", "Ó Ceallaigh",
            "Siobhán's", "Pádraig's"),
           "+353 91 {a} {b}", "IE{d7}W"),
    "ES": ("EUR",
           (("Logroño", "La Rioja", "26001"), ("A Coruña", "Galicia", "15001"),
            ("Cádiz", "Andalucía", "11001"), ("Málaga", "Andalucía", "29001"),
            ("León", "Castilla y León", "24001")),
           ("Cocina {s} S.L.", "Menaje {s} S.A.", "Hogar y Cerámica {t} S.L.",
            "La Despensa de {s}"),
           ("Peña", "Muñoz", "Ibáñez", "Núñez", "Gómez", "Sáenz", "Martín", "Vázquez"),
           "+34 941 {a} {b}", "ESB{d8}"),
    "PT": ("EUR",
           (("Porto", "Porto", "4000-322"), ("Coimbra", "Coimbra", "3000-150"),
            ("Évora", "Évora", "7000-505")),
           ("Cerâmica {s} Lda", "Casa {s} e Filhos Lda", "Loja da Cozinha {t}"),
           ("São João", "Magalhães", "Conceição", "Gonçalves", "Simões", "Antão"),
           "+351 22 {a} {b}", "PT{d9}"),
    "NL": ("EUR",
           (("Utrecht", "Utrecht", "3511 AB"), ("Haarlem", "Noord-Holland", "2011 VB"),
            ("Delft", "Zuid-Holland", "2611 GK")),
           ("Het Keukenhuis {t} B.V.", "{s} Wonen B.V.", "Kookwinkel {s}"),
           ("Van der Berg", "De Vries", "Bijlsma", "Van Dijk", "Smeets"),
           "+31 30 {a} {b}", "NL{d9}B01"),
    "FI": ("EUR",
           (("Turku", "Varsinais-Suomi", "20100"), ("Jyväskylä", "Keski-Suomi", "40100")),
           ("Keittiökauppa {s} Oy", "{s} Koti Oy"),
           ("Mäkinen", "Häkkinen", "Järvinen", "Törmä"),
           "+358 2 {a} {b}", "FI{d8}"),
    "AT": ("EUR",
           (("Graz", "Steiermark", "8010"), ("Innsbruck", "Tirol", "6020")),
           ("Küchen {s} GmbH", "{s} Wohnaccessoires OG"),
           ("Pölzl", "Fürst", "Grünwald", "Hölzl"),
           "+43 316 {a} {b}", "ATU{d8}"),
    "US": ("USD",
           (("Hudson", "NY", "12534"), ("Portland", "OR", "97205"), ("Asheville", "NC", "28801"),
            ("Santa Fe", "NM", "87501"), ("Burlington", "VT", "05401"),
            ("Savannah", "GA", "31401"), ("Boulder", "CO", "80302")),
           ("{t} Home Goods LLC", "{s} and Main Mercantile Inc", "{s} Kitchen Supply Co",
            "{t} Table and Home Inc", "Casa {s} Pottery Outlet LLC"),
           ("Maple", "Whitaker", "Delgado", "Peña", "Lindqvist", "Bergström", "Nakamura",
            "Renée"),
           "+1 828 555 {b}", ""),
}  # fmt: skip
FOREIGN_FIRST = {
    "FR": ("Amélie", "Hélène", "François", "Gaëlle", "Jérôme"),
    "DE": ("Jürgen", "Jörg", "Käthe", "Björn", "Uwe"),
    "DK": ("Søren", "Åse", "Mette", "Bjørn", "Jørgen"),
    "IE": ("Siobhán", "Seán", "Aoife", "Pádraig", "Máire"),
    "ES": ("José", "Inés", "Begoña", "Ramón", "Lucía"),
    "PT": ("João", "Inês", "Conceição", "Gonçalo"),
    "NL": ("Joost", "Maaike", "Sanne", "Pieter"),
    "FI": ("Päivi", "Jyrki", "Sää", "Mikko"),
    "AT": ("Jürgen", "Kathrin", "Lukas", "Hölzl"),
    "US": ("Dana", "Marcus", "Renée", "Jordan", "Kai"),
}

# Trade supplier categories: (category, currency, country, name templates, default tax code)
CATEGORIES = (
    ("stoneware", "GBP", "GB", ("{t} Stoneware Co Ltd", "{s} Pottery Ltd"), "T1"),
    ("cookware", "EUR", "DE", ("Küchenstahl {s} GmbH", "{s} Kochgeschirr GmbH"), "T8"),
    ("textiles", "EUR", "DK", ("{s} Væveri ApS", "Hørgården Tekstil {s} ApS"), "T8"),
    ("glass", "GBP", "GB", ("{t} Glassworks Ltd", "{s} Glass Ltd"), "T1"),
    ("enamel", "USD", "US", ("{t} Enamelware Inc", "{s} Camp Goods Inc"), "T9"),
    ("porcelain", "EUR", "PT", ("Porcelanas {s} Lda", "Faiança {s} Lda"), "T8"),
    ("candles", "GBP", "GB", ("{s} Candle Company Ltd", "{t} Wax Works Ltd"), "T1"),
    ("food", "GBP", "GB", ("{t} Fine Foods Ltd", "{s} Provisions Ltd"), "T0"),
    ("books", "EUR", "NL", ("Uitgeverij {s} B.V.", "{s} Boeken B.V."), "T7"),
    ("wood", "GBP", "GB", ("{s} Woodcraft Ltd", "{t} Turnery Ltd"), "T1"),
)

# (stock code, description, unit, trade price in GBP, tax code, category, has colours)
CATALOGUE = (
    ("STW-MUG", "Stoneware mug 350ml", "Each", "3.95", "T1", "stoneware", True),
    ("STW-PLT27", "Stoneware dinner plate 27cm", "Each", "6.40", "T1", "stoneware", True),
    ("STW-BWL16", "Stoneware cereal bowl 16cm", "Each", "4.20", "T1", "stoneware", True),
    ("STW-JUG1L", "Stoneware jug 1 litre", "Each", "9.80", "T1", "stoneware", True),
    ("STW-TEAPOT", "Stoneware teapot 4 cup", "Each", "14.50", "T1", "stoneware", True),
    ("CER-MUG", "Ceramic mug", "Each", "2.95", "T1", "stoneware", True),
    ("GLS-TUM300", "Recycled glass tumbler 300ml", "Each", "2.10", "T1", "glass", False),
    ("GLS-CARAFE", "Hand-blown carafe 1 litre", "Each", "11.90", "T1", "glass", False),
    ("GLS-WINE4", "Wine glasses, set of 4", "Set", "13.50", "T1", "glass", False),
    ("CKW-CASS24", "Cast iron casserole 24cm", "Each", "38.00", "T1", "cookware", True),
    ("CKW-PAN28", "Carbon steel frying pan 28cm", "Each", "17.50", "T1", "cookware", False),
    ("CKW-SAUCE3", "Stainless saucepan set (3)", "Set", "44.00", "T1", "cookware", False),
    ("CKW-ROAST", "Enamelled roasting tin 35cm", "Each", "12.80", "T1", "cookware", False),
    ("ENM-MUG12", "Enamel camp mug 12oz", "Each", "4.60", "T1", "enamel", True),
    ("ENM-PIE22", "Enamel pie dish 22cm", "Each", "6.90", "T1", "enamel", False),
    ("ENM-COLAND", "Enamel colander", "Each", "9.40", "T1", "enamel", True),
    ("TXT-TOWEL", "Linen tea towel", "Each", "4.80", "T1", "textiles", True),
    ("TXT-BATH", "Waffle bath towel", "Each", "9.90", "T1", "textiles", True),
    ("TXT-APRON", "Cotton apron", "Each", "8.50", "T1", "textiles", True),
    ("TXT-GLOVE", "Double oven glove", "Each", "6.20", "T1", "textiles", True),
    ("TXT-KIDAPR", "Children's apron", "Each", "5.40", "T0", "textiles", True),
    ("POR-ESPR", "Porcelain espresso cup and saucer", "Each", "3.60", "T1", "porcelain", False),
    ("POR-PLAT40", "Porcelain serving platter 40cm", "Each", "16.80", "T1", "porcelain", False),
    ("POR-BUTTER", "Porcelain butter dish", "Each", "7.90", "T1", "porcelain", False),
    ("CDL-SOY200", "Soy wax candle 200g", "Each", "5.20", "T1", "candles", True),
    ("CDL-DINNER", "Beeswax dinner candles (pair)", "Pair", "3.10", "T1", "candles", False),
    ("CDL-DIFFUS", "Reed diffuser 100ml", "Each", "7.40", "T1", "candles", True),
    ("FD-SHORTB", "Shortbread tin 400g", "Tin", "4.10", "T0", "food", False),
    ("FD-TEA80", "Breakfast tea, 80 bags", "Box", "2.60", "T0", "food", False),
    ("FD-CHOC250", "Hot chocolate flakes 250g", "Tin", "3.90", "T0", "food", False),
    ("FD-BISCUIT", "Chocolate-coated biscuits 200g", "Box", "2.30", "T1", "food", False),
    ("BK-SUPPERS", "Cookery book: Slow Sunday Suppers", "Each", "9.80", "T0", "books", False),
    ("BK-STONEWR", "Cookery book: The Stoneware Kitchen", "Each", "11.20", "T0", "books", False),
    ("BK-KIDBAKE", "Children's baking book", "Each", "6.40", "T0", "books", False),
    ("WD-OAK40", "Oak chopping board 40cm", "Each", "14.20", "T1", "wood", False),
    ("WD-SPOON3", "Beech spoon set (3)", "Set", "3.40", "T1", "wood", False),
    ("WD-CADDY", "Bamboo utensil caddy", "Each", "5.10", "T1", "wood", False),
    ("SRV-MERCH", "Display merchandising (half day)", "Visit", "145.00", "T1", "service", False),
    ("SRV-DESIGN", "Private-label packaging design", "Job", "320.00", "T1", "service", False),
    ("SRV-PHOTO", "Product photography (per item)", "Item", "18.00", "T1", "service", False),
)
COLOURS = ("white", "sage", "charcoal", "ochre", "blush", "navy", "speckled oat", "teal")

# Overhead suppliers: (ref, name, currency, country, town, frequency, payment, lines)
# lines: (nominal, tax code, details, typical monthly net in GBP at scale 1)
OVERHEAD_SUPPLIERS: tuple[tuple[str, str, str, str, str, str, str,
                                 tuple[tuple[str, str, str, int], ...]], ...] = (
    ("DONVALE", "Don Vale Estates Ltd", "GBP", "GB", "Sheffield", "quarterly", "BACS",
     (("7100", "T1", "Rent - Unit 7, Attercliffe Trade Park", 2700),)),
    ("NORTHGAT", "Northgate Energy Ltd", "GBP", "GB", "Leeds", "monthly", "DD",
     (("7200", "T1", "Electricity supply", 260), ("7201", "T5", "Gas supply", 60))),
    ("PENNTEL", "Pennine Telecom plc", "GBP", "GB", "Manchester", "monthly", "DD",
     (("7502", "T1", "Phone lines and mobiles", 80),)),
    ("AMBERLEY", "Amberley Mutual Insurance", "GBP", "GB", "Norwich", "quarterly", "DD",
     (("7104", "T2", "Premises and stock insurance", 420),)),
    ("HALLAMWH", "Hallam & Whitcombe LLP", "GBP", "GB", "Sheffield", "quarterly", "BACS",
     (("7601", "T1", "Bookkeeping and payroll bureau", 480),)),
    ("SWIFTLIN", "Swiftline Parcels Ltd", "GBP", "GB", "Doncaster", "monthly", "BACS",
     (("7501", "T1", "Parcel and pallet deliveries", 340),)),
    ("CLOUDLIN", "Cloudline Software Inc", "USD", "US", "Portland", "monthly", "CARD",
     (("7503", "T20", "Warehouse software subscription", 75),)),
    ("STEELBNK", "Steelbank Building Services Ltd", "GBP", "GB", "Rotherham", "quarterly",
     "BACS", (("7800", "T20", "Racking repairs (domestic reverse charge)", 320),)),
    ("AGENCELU", "Agence Créative Lumière SARL", "EUR", "FR", "Lyon", "quarterly", "BACS",
     (("6201", "T24", "Catalogue design and trade advertising", 600),)),
    ("FRAKTOLB", "Fraktkompagniet Ølby ApS", "EUR", "DK", "Køge", "monthly", "BACS",
     (("5100", "T23", "Sea freight Esbjerg - Immingham", 240),)),
)  # fmt: skip

# Bank payment and receipt templates: (type, bank, reference, details, nominal, tax, dept,
# low, high, weight) with amounts in whole pounds.
BANK_TEMPLATES = (
    ("BP", BANK, "CARD", "Diesel - delivery vans", "7300", "T1", 4, 60, 190, 5),
    ("BP", BANK, "CHQ", "Window cleaning (not VAT registered)", "7801", "T9", 5, 25, 60, 1),
    ("BP", BANK, "FPS", "Trade show stand - spring fair", "6201", "T1", 1, 400, 1800, 1),
    ("BP", BANK, "CARD", "Pallet wrap and packing tape", "5100", "T1", 4, 40, 260, 4),
    ("BP", BANK, "CARD", "Van servicing and tyres", "7300", "T1", 4, 120, 480, 2),
    ("BP", BANK, "FPS", "Agency warehouse staff", "7000", "T1", 4, 180, 650, 2),
    ("BP", BANK, "DD", "Water rates", "7102", "T0", 5, 45, 110, 1),
    ("BR", BANK, "BACS", "Marketplace payout - online orders", "4010", "T1", 2, 250, 2400, 8),
    ("BR", BANK, "BACS", "Rent received - sublet mezzanine", "4904", "T1", 0, 380, 520, 1),
    ("BR", BANK, "BACS", "Commission - trade fair referrals", "4902", "T1", 1, 60, 350, 1),
    ("BR", BANK, "BACS", "Insurance claim - water damaged stock", "4903", "T9", 0, 200, 900, 1),
    ("BR", DEPOSIT, "INT", "Deposit account interest", "4900", "T9", 0, 12, 90, 1),
    ("CP", CASH, "PC", "Postage stamps", "7501", "T2", 5, 8, 45, 3),
    ("CP", CASH, "PC", "Milk and tea for staff kitchen", "7406", "T0", 5, 4, 18, 2),
    ("CP", CASH, "PC", "Cleaning materials", "7801", "T1", 5, 6, 40, 2),
    ("CP", CASH, "PC", "Parking - customer visit", "7400", "T1", 1, 3, 14, 1),
    ("CP", CASH, "PC", "Envelopes and labels", "7504", "T1", 5, 5, 30, 2),
    ("CR", CASH, "CASH", "Trade counter cash sale", "4000", "T1", 1, 12, 240, 5),
    ("CR", CASH, "CASH", "Seconds sale - chipped stoneware", "4010", "T1", 2, 10, 90, 2),
    ("CR", CASH, "CASH", "Scrap cardboard collection", "4900", "T1", 4, 5, 30, 1),
    ("VP", CARD, "CARD", "Train fares - buying trip", "7400", "T0", 1, 40, 260, 2),
    ("VP", CARD, "CARD", "Hotel - trade fair", "7402", "T1", 1, 90, 420, 2),
    ("VP", CARD, "CARD", "Social media advertising (IE)", "6201", "T24", 2, 50, 400, 2),
    ("VP", CARD, "CARD", "Office supplies - online order", "7504", "T1", 5, 15, 120, 3),
    ("VP", CARD, "CARD", "Design software subscription (US)", "7503", "T20", 5, 20, 60, 1),
    ("VR", CARD, "CARD", "Refund - cancelled hotel booking", "7402", "T1", 1, 90, 300, 1),
    ("VR", CARD, "CARD", "Refund - returned printer toner", "7504", "T1", 5, 20, 90, 1),
)


def tax_record(t: tuple[str, str, str, bool, bool, bool, str | None, bool]) -> dict[str, Any]:
    code, rate, description, in_return, ec_sales, ec_purchases, ec_type, reverse = t
    return {
        "code": code,
        "rate": rate,
        "description": description,
        "in_vat_return": in_return,
        "ec_sales": ec_sales,
        "ec_purchases": ec_purchases,
        "ec_type": ec_type,
        "reverse_charge": reverse,
    }
