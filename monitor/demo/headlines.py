"""Headline and summary templates for the offline demo newswire, per topic and sentiment.

Every template, company, broker and person here was written for FinSentinel; nothing is
copied from a publisher, a wire service or a dataset. Companies, tickers, brokers and
people are fictional; index, commodity, currency and central-bank names are real so the
demo reads plausibly. Slots in braces are filled by monitor.demo.newswire.
"""

from __future__ import annotations

# (name, ticker): fictional companies; "Norwell Dynamics" is the demo's troubled company.
COMPANIES: tuple[tuple[str, str], ...] = (
    ("Norwell Dynamics", "NWD"), ("Halvard Energy", "HLVE"), ("Castellan Pharmaceuticals", "CSPH"),
    ("Meridian Cloud Systems", "MCSY"), ("Ostrava Mining", "OSTM"), ("Pinecrest Retail", "PCRG"),
    ("Solvane Motors", "SOLM"), ("Kestrel Therapeutics", "KTRX"), ("Arden Logistics", "ARDN"),
    ("Lumara Semiconductors", "LMRA"), ("Tidewell Utilities", "TDWL"), ("Versage Foods", "VRSG"),
    ("Harbor North Airlines", "HBRN"), ("Granton Steel", "GRNT"), ("Calloway Media", "CLWY"),
    ("Elmstead Chemicals", "ELMC"),
)
BANKS: tuple[tuple[str, str], ...] = (
    ("Brightwater Bancorp", "BWBC"), ("Quintfield Financial", "QNTF"), ("Ashby Trust", "ASHT"),
    ("Corran Capital Bank", "CCBK"),
)
NEW_ISSUERS = ("Lumen Harbor Health", "Farrow Robotics", "Clearbrook Payments", "Tessel Biotech",
               "Northgate Data", "Wrenfield Renewables")
BROKERS = ("Whitlock Securities", "Aldgate Partners", "Renfrew Capital Markets", "Bexley & Crane")
EXECUTIVES = ("Maren Holt", "Daniel Osei", "Priya Ramanathan", "Tomasz Wielgus", "Claire Dufresne",
              "Kenji Araki", "Sofia Lindqvist")
INDICES = ("S&P 500", "Nasdaq Composite", "Dow Jones Industrial Average", "FTSE 100", "DAX",
           "Nikkei 225", "Stoxx 600")
OILS = ("Brent crude", "WTI crude", "U.S. crude")
METALS = ("Gold", "Silver", "Copper", "Nickel", "Aluminium", "Platinum")
CENTRAL_BANKS = ("Federal Reserve", "European Central Bank", "Bank of England", "Bank of Japan",
                 "Swiss National Bank", "Bank of Canada")
CURRENCIES = ("The yen", "Sterling", "The euro", "The Swiss franc", "The Australian dollar")
PAIRS = ("EUR/USD", "USD/JPY", "GBP/USD", "AUD/USD", "USD/CHF")
COUNTRIES = ("Italy", "Brazil", "South Korea", "Turkey", "Canada", "Poland")
CITIES = ("NEW YORK", "LONDON", "FRANKFURT", "TOKYO", "SINGAPORE", "CHICAGO", "TORONTO")

_NEG, _NEU, _POS = "negative", "neutral", "positive"

# topic -> sentiment -> headline templates.
TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "Analyst Update": {
        _NEG: ("{broker} downgrades {co} to sell, cuts target on weak demand outlook",
               "{co} cut to underperform at {broker} as margin pressure mounts",
               "Analysts slash {co} estimates after profit warning"),
        _NEU: ("{broker} initiates coverage of {co} at neutral",
               "{broker} keeps hold rating on {co}, price target unchanged",
               "{broker} transfers coverage of {co} to new analyst"),
        _POS: ("{broker} upgrades {co} to buy, sees {pct}% upside",
               "{co} raised to outperform at {broker} on strong order book",
               "Analysts lift {co} price targets after upbeat investor day"),
    },
    "Fed | Central Banks": {
        _NEG: ("{cb} warns inflation is sticky, signals rates stay higher for longer",
               "{cb} official warns of financial stability risks as credit tightens",
               "Stocks slump as {cb} minutes show pressure for further hikes"),
        _NEU: ("{cb} holds policy rate steady, in line with expectations",
               "{cb} to publish updated economic projections next week",
               "{cb} governor to speak on policy framework on {weekday}"),
        _POS: ("{cb} cuts rates by {bps} basis points to support growth",
               "{cb} says inflation is cooling faster than expected",
               "Stocks rally as {cb} hints at end of tightening cycle"),
    },
    "Company | Product News": {
        _NEG: ("{co} delays flagship product launch after quality problems",
               "{co} halts production line after supplier failure",
               "{co} customers hit by outages on new platform"),
        _NEU: ("{co} unveils updated product line at annual showcase",
               "{co} to open new distribution centre near {city_title}",
               "{co} rebrands its consumer division"),
        _POS: ("{co} wins record order for its new product range",
               "{co} launch beats sales expectations in first week",
               "{co} secures multi-year supply contract worth {amt}"),
    },
    "Treasuries | Corporate Debt": {
        _NEG: ("{co} bonds slide after rating agency cuts outlook to negative",
               "Treasury yields jump as weak auction rattles investors",
               "Corporate bond spreads widen sharply on default fears"),
        _NEU: ("{co} prices {amt} of senior notes due {year}",
               "Ten-year Treasury yield little changed ahead of inflation data",
               "Treasury announces sizes of next month's auctions"),
        _POS: ("{co} debt upgraded to investment grade",
               "Strong demand at Treasury auction pulls yields lower",
               "{co} refinances debt at lower cost, cutting interest bill"),
    },
    "Dividend": {
        _NEG: ("{co} suspends dividend to preserve cash",
               "{co} cuts quarterly dividend by {pct}%",
               "{co} scraps share buyback and slashes payout"),
        _NEU: ("{co} declares regular quarterly dividend of {cents} cents",
               "{co} sets record date for quarterly payout",
               "{co} keeps dividend at previous level"),
        _POS: ("{co} raises dividend {pct}% and announces {amt} buyback",
               "{co} declares special dividend after strong year",
               "{co} lifts payout for tenth straight year"),
    },
    "Earnings": {
        _NEG: ("{co} misses {q} profit estimates, shares tumble {pct}%",
               "{co} swings to quarterly loss on weak sales",
               "{co} cuts full-year guidance after disappointing {q}"),
        _NEU: ("{co} to report {q} results on {weekday}",
               "{co} {q} earnings in line with forecasts",
               "What to expect from {co} {q} results"),
        _POS: ("{co} beats {q} estimates and raises full-year outlook",
               "{co} posts record {q} revenue, shares jump {pct}%",
               "{co} profit surges on strong demand"),
    },
    "Energy | Oil": {
        _NEG: ("{oil} slips {pct}% as producers' supply talks stall",
               "Oil prices fall as inventories swell unexpectedly",
               "{oil} drops to multi-week low on demand worries"),
        _NEU: ("{oil} steady as traders await inventory data",
               "Oil little changed ahead of producers' meeting",
               "{co} publishes annual energy transition report"),
        _POS: ("{oil} climbs {pct}% as supply tightens",
               "Oil prices rise on strong demand outlook",
               "{co} shares gain as higher oil prices lift margins"),
    },
    "Financials": {
        _NEG: ("{bank} shares sink after surprise loan-loss provisions",
               "Regional lenders slide as deposit outflows accelerate",
               "{bank} hit by trading losses, warns on profit"),
        _NEU: ("{bank} completes integration of acquired branches",
               "Banks report quarterly deposit figures",
               "{bank} names new head of retail banking"),
        _POS: ("{bank} posts strong interest income, shares rise",
               "Bank stocks rally after stress test results",
               "{bank} capital ratio comfortably beats requirement"),
    },
    "Currencies": {
        _NEG: ("{ccy} tumbles to multi-year low as investors flee",
               "{pair} volatility spikes as intervention fails to calm markets",
               "Emerging market currencies slide on risk aversion"),
        _NEU: ("{pair} trades in narrow range ahead of data",
               "Dollar index flat as traders await jobs report",
               "{pair} little changed in quiet trading"),
        _POS: ("{ccy} rebounds strongly after upbeat growth data",
               "{ccy} rallies as trade surplus widens",
               "Emerging market currencies gain as risk appetite returns"),
    },
    "General News | Opinion": {
        _NEG: ("Opinion: the warning signs investors are ignoring",
               "Column: why the consumer slowdown could get worse",
               "Business confidence falls to lowest level in two years"),
        _NEU: ("Week ahead: central banks, earnings and inflation data",
               "Opinion: what the latest jobs numbers do and do not tell us",
               "Five charts that explain this week's markets"),
        _POS: ("Opinion: reasons for optimism as supply chains heal",
               "Business confidence rises to highest level in a year",
               "Column: the quiet strength of the services economy"),
    },
    "Gold | Metals | Materials": {
        _NEG: ("Copper sinks {pct}% on weak factory data",
               "{co} cuts output forecast after mine flooding",
               "{metal} slides as yields climb"),
        _NEU: ("{metal} steady as traders weigh rate outlook",
               "{metal} prices flat in thin trading",
               "{co} updates reserve estimates at flagship mine"),
        _POS: ("Gold hits record high on safe-haven demand",
               "{metal} jumps {pct}% on supply disruptions",
               "{co} raises production guidance as new mine ramps up"),
    },
    "IPO": {
        _NEG: ("{newco} pulls IPO citing volatile markets",
               "{newco} shares sink {pct}% in trading debut",
               "{newco} cuts IPO price range amid weak demand"),
        _NEU: ("{newco} files for initial public offering",
               "{newco} sets terms for {amt} listing",
               "{newco} IPO expected to price this week"),
        _POS: ("{newco} shares soar {pct}% in market debut",
               "{newco} prices IPO above range on strong demand",
               "{newco} IPO heavily oversubscribed"),
    },
    "Legal | Regulation": {
        _NEG: ("{co} faces regulator probe over accounting practices",
               "{co} fined {amt} for breaching consumer rules",
               "Lawsuit accuses {co} of misleading investors"),
        _NEU: ("Regulator publishes consultation on disclosure rules",
               "{co} responds to information request from regulator",
               "Court sets hearing date in {co} patent case"),
        _POS: ("{co} wins appeal, overturning earlier fine",
               "Regulator clears {co} after review",
               "{co} settles patent dispute on favourable terms"),
    },
    "M&A | Investments": {
        _NEG: ("{co} takeover bid collapses after financing falls through",
               "Regulators block {co} merger with {co2}",
               "{co} writes down {amt} on failed acquisition"),
        _NEU: ("{co} confirms early talks about possible deal",
               "{co} completes acquisition of {newco}",
               "{co} takes minority stake in {newco}"),
        _POS: ("{co} agrees {amt} acquisition, shares jump",
               "{co} receives takeover offer at {pct}% premium",
               "{co} wins bidding contest for {co2}"),
    },
    "Macro": {
        _NEG: ("Inflation accelerates unexpectedly to {rate}%",
               "Economy contracts in {q}, raising recession fears",
               "Unemployment rises more than forecast as hiring slows"),
        _NEU: ("Retail sales data due on {weekday}",
               "Inflation in line with forecasts at {rate}%",
               "Manufacturing survey shows little change"),
        _POS: ("Economy grows faster than expected in {q}",
               "Inflation eases to {rate}%, lowest in two years",
               "Job growth beats forecasts as wages rise"),
    },
    "Markets": {
        _NEG: ("{idx} slides {pct}% in broad sell-off",
               "Stocks tumble as bond yields surge",
               "{idx} posts worst week in two months"),
        _NEU: ("{idx} ends little changed in quiet session",
               "Stocks mixed as investors await data",
               "{idx} futures flat ahead of the open"),
        _POS: ("{idx} climbs to record close",
               "Stocks rally as technology shares rebound",
               "{idx} gains {pct}% led by financials"),
    },
    "Politics": {
        _NEG: ("Budget standoff raises risk of government shutdown",
               "New tariffs threaten exporters as trade dispute escalates",
               "Political turmoil in {country} rattles bond markets"),
        _NEU: ("Lawmakers begin debate on spending bill",
               "Finance ministers meet to discuss tax coordination",
               "{country} sets date for general election"),
        _POS: ("Trade deal agreed, lifting tariffs on key goods",
               "Lawmakers pass infrastructure bill with broad support",
               "Tensions ease as leaders agree budget framework"),
    },
    "Personnel Change": {
        _NEG: ("{co} chief executive resigns abruptly amid board dispute",
               "{co} finance chief departs after accounting review",
               "{co} ousts CEO after failed turnaround"),
        _NEU: ("{co} appoints {exec} as chief financial officer",
               "{co} names {exec} to board of directors",
               "{co} announces planned CEO succession"),
        _POS: ("{co} hires turnaround veteran {exec} as CEO",
               "Shares rise as {co} names respected industry leader {exec} as chair",
               "{co} strengthens management team with key hires"),
    },
    "Stock Commentary": {
        _NEG: ("Why {co} stock could fall further",
               "Three reasons to avoid {co} shares",
               "Is {co} a value trap?"),
        _NEU: ("{co} stock: what investors should watch",
               "Should you buy {co} ahead of earnings?",
               "{co} versus {co2}: which is the better buy?"),
        _POS: ("Why {co} stock could double",
               "{co} is a top pick for the year ahead",
               "Three reasons to like {co} shares now"),
    },
    "Stock Movement": {
        _NEG: ("{co} shares plunge {pct}% in heavy trading",
               "{co} stock hits 52-week low",
               "{co} falls {pct}% as investors dump shares"),
        _NEU: ("{co} shares flat in early trading",
               "{co} stock moves sideways ahead of results",
               "Trading volume in {co} picks up"),
        _POS: ("{co} shares surge {pct}% to all-time high",
               "{co} stock jumps after upbeat update",
               "{co} rises {pct}% as buyers return"),
    },
}

SUMMARIES: dict[str, tuple[str, ...]] = {
    _NEG: ("The news adds to a difficult stretch for investors, who fear further losses.",
           "Traders said the move caught the market off guard and deepened concerns.",
           "The setback raises doubts about the outlook for the rest of the year.",
           "Market participants described the development as a clear disappointment."),
    _NEU: ("Details were published in a statement and were broadly as expected.",
           "Market participants said the update did not change their view.",
           "Further details are expected in the coming weeks.",
           "The announcement followed a routine schedule."),
    _POS: ("Investors welcomed the news, which points to an improving outlook.",
           "Analysts said the result underlines solid momentum into next quarter.",
           "The move was seen as a strong vote of confidence.",
           "Traders cheered the update, which beat most expectations."),
}

# Scripted burst in one topic (Energy | Oil): unmistakably negative, oil-specific wording.
OIL_BURST: tuple[str, ...] = (
    "{oil} crashes {pct}% as producers' output deal collapses",
    "Oil prices plunge to lowest level in a year on supply glut fears",
    "Energy stocks tumble as oil rout deepens",
    "{oil} suffers steepest one-day drop in months",
    "Oil slump wipes billions off energy producers' market value",
    "Traders dump crude futures as demand outlook darkens",
    "Oil producers warn of heavy losses as prices collapse",
    "Refiners hit hard as crude sell-off accelerates",
    "Oil market turmoil: prices sink as inventories surge",
    "Analysts slash oil price forecasts after sudden collapse",
    "Crude plunge triggers heavy losses for energy funds",
    "Halvard Energy (HLVE) shares sink as oil crash hits earnings outlook",
)
OIL_BURST_SUMMARY = ("Prices fell sharply as traders rushed to cut exposure, deepening losses "
                     "across the energy sector and raising fears of a prolonged downturn.")

# Scripted burst for one company: recall, probe, downgrade, lawsuit, warnings.
COMPANY_BURST_NAME, COMPANY_BURST_TICKER = "Norwell Dynamics", "NWD"
COMPANY_BURST: tuple[str, ...] = (
    "Norwell Dynamics (NWD) recalls 40,000 units over fire risk",
    "Regulator opens probe into Norwell Dynamics (NWD) safety failures",
    "Norwell Dynamics (NWD) downgraded to sell at {broker} after recall",
    "Norwell Dynamics (NWD) shares plunge {pct}% on recall and probe",
    "Norwell Dynamics (NWD) hit by class-action lawsuit over defective products",
    "Norwell Dynamics (NWD) warns of heavy losses from recall costs",
    "Norwell Dynamics (NWD) suspends guidance as safety crisis deepens",
    "Norwell Dynamics (NWD) bonds slump as rating agencies cut outlook",
)
COMPANY_BURST_SUMMARY = ("The company said it was cooperating with authorities; its shares fell "
                         "sharply as investors weighed the damage and the cost of the crisis.")
