"""Synthetic reports for the dedup tests: two of one rehab event, one of another, and filler."""

REID_1 = (
    "Actress Tara Reid checked herself into Promises Treatment Center in Malibu, her rep Jack Ketsoyan said. "
    '"We appreciate your respect to her and her family\'s privacy at this time," Ketsoyan told People. '
    "The 33-year-old American Pie star entered the facility on Tuesday."
)
REID_2 = (
    "Tara Reid has entered rehab at the Promises clinic in Malibu. Her spokesman Jack Ketsoyan asked fans "
    'for "respect to her and her family\'s privacy at this time". Reid, 33, is best known for American Pie.'
)
LOHAN = (
    "Actress Lindsay Lohan checked herself into the Betty Ford Center in Rancho Mirage, her lawyer "
    'Shawn Holley said. "She is doing well and looks forward to getting better," Holley told reporters. '
    "The 26-year-old Mean Girls star entered the facility on Thursday."
)
BACKGROUND = [
    "The council approved the new budget for schools and roads after a long debate on Monday.",
    "Heavy rain flooded streets across the region and officials closed several bridges.",
    "The company reported higher profits and said it would hire more staff next year.",
    "Police arrested two men after a robbery at a jewellery store in the city centre.",
]
