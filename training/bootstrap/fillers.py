"""Slot fillers for the bootstrap templates: fictional companies and people, real market names."""

from __future__ import annotations

# Fictional companies (any resemblance to a real issuer is accidental), by sector.
COMPANIES = (
    "Northwind Robotics", "Altamira Foods", "Bluefin Logistics", "Corvid Semiconductor",
    "Delmar Pharmaceuticals", "Evergate Software", "Fairhaven Retail", "Granite Peak Mining",
    "Halcyon Airlines", "Ironbridge Steel", "Juniper Health", "Kestrel Motors",
    "Lumen Bay Energy", "Meridian Telecom", "Novalis Biotech", "Orchard Lane Apparel",
    "Pinecrest Homes", "Quayside Shipping", "Redwater Chemicals", "Solstice Solar",
    "Tidewell Utilities", "Umbra Games", "Valemont Insurance", "Westfield Cloud",
    "Yellowstone Outfitters", "Zephyr Aerospace", "Arbor Paper", "Brightline Media",
    "Cobalt Ridge Metals", "Driftwood Hotels", "Emberly Cosmetics", "Foxglove Medical",
)
BANKS = (
    "Harbourview Bank", "Calder Trust", "Ostrava Capital Bank", "Summit National Bank",
    "Bramwell Financial", "Lakeshore Bancorp", "Aurelia Bank", "Thornbury Savings",
)
BROKERS = (
    "Kestrel Securities", "Whitcombe Research", "Larkspur Capital Markets", "Ashdown Partners",
    "Fenwick & Rowe", "Hollis Equity Research", "Marlowe Brokerage", "Sterling Vale Advisors",
)
PEOPLE = (
    "Maria Lindqvist", "James Okafor", "Priya Raman", "Thomas Berger", "Elena Costa",
    "David Whitfield", "Aiko Tanaka", "Samuel Adeyemi", "Claire Dubois", "Rafael Moreno",
    "Hannah Kowalski", "Victor Almeida",
)
ROLES = ("chief executive", "chief financial officer", "chairman", "chief operating officer",
         "head of its consumer unit", "chief technology officer")
PRODUCTS = ("electric delivery van", "cloud security platform", "diabetes drug",
            "budget smartphone", "battery storage system", "streaming service",
            "industrial robot arm", "cholesterol treatment", "payments app", "AI chip",
            "plant-based snack line", "satellite broadband service")
INDICES = ("S&P 500", "Nasdaq Composite", "Dow Jones Industrial Average", "FTSE 100", "DAX",
           "Nikkei 225", "Stoxx 600", "Hang Seng", "CAC 40", "Russell 2000")
CENTRAL_BANKS = ("Federal Reserve", "European Central Bank", "Bank of England", "Bank of Japan",
                 "Swiss National Bank", "Reserve Bank of Australia", "Bank of Canada")
BANK_HEADS = ("the Fed chair", "ECB President", "the BoE governor", "a Fed governor",
              "the BoJ governor")
CURRENCIES = ("euro", "yen", "sterling", "Swiss franc", "Australian dollar", "yuan",
              "Canadian dollar", "Mexican peso")
OILS = ("Brent crude", "WTI crude", "U.S. natural gas", "European gas", "heating oil")
METALS = ("gold", "silver", "copper", "aluminium", "platinum", "lithium", "nickel",
          "iron ore", "palladium")
COUNTRIES = ("Germany", "Japan", "the United States", "the euro zone", "China", "Britain",
             "Canada", "Brazil", "India", "France")
DATA = ("inflation", "retail sales", "factory output", "jobless claims", "consumer confidence",
        "GDP growth", "manufacturing PMI", "housing starts", "wage growth")
REGULATORS = ("the SEC", "the European Commission", "the FTC", "the CFTC",
              "Britain's competition watchdog", "the Justice Department")
SECTORS = ("tech", "energy", "bank", "retail", "chipmaker", "airline", "healthcare",
           "utility", "mining", "consumer staples")
POLITICIANS = ("the president", "the prime minister", "the finance minister",
               "Senate leaders", "the opposition party", "lawmakers")
QUARTERS = ("first-quarter", "second-quarter", "third-quarter", "fourth-quarter", "full-year")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = ("January", "March", "April", "June", "July", "September", "October", "December")
