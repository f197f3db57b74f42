package scrub

// The words pseudonyms are made of. Changing a list changes every
// pseudonym; Check accepts only words from these lists.

// loremWords has exactly 256 words, one per byte value of the keyed hash.
var loremWords = [...]string{
	"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do",
	"eiusmod", "tempor", "incididunt", "ut", "labore", "et", "dolore", "magna", "aliqua", "enim",
	"ad", "minim", "veniam", "quis", "nostrud", "exercitation", "ullamco", "laboris", "nisi",
	"aliquip", "ex", "ea", "commodo", "consequat", "duis", "aute", "irure", "in", "reprehenderit",
	"voluptate", "velit", "esse", "cillum", "fugiat", "nulla", "pariatur", "excepteur", "sint",
	"occaecat", "cupidatat", "non", "proident", "sunt", "culpa", "qui", "officia", "deserunt",
	"mollit", "anim", "id", "est", "laborum", "curabitur", "pretium", "tincidunt", "lacus", "nunc",
	"pulvinar", "sapien", "ligula", "gravida", "quam", "faucibus", "mauris", "vitae", "ultricies",
	"leo", "integer", "malesuada", "porta", "lectus", "arcu", "bibendum", "at", "varius", "vel",
	"pharetra", "nibh", "tellus", "molestie", "dignissim", "suspendisse", "potenti", "nullam", "ac",
	"tortor", "feugiat", "pellentesque", "massa", "placerat", "lacinia", "aenean", "euismod",
	"elementum", "etiam", "erat", "blandit", "turpis", "cursus", "hac", "habitasse", "platea",
	"dictumst", "vestibulum", "rhoncus", "eget", "sagittis", "orci", "tristique", "senectus", "netus",
	"fames", "egestas", "maecenas", "volutpat", "semper", "viverra", "tempus", "imperdiet", "proin",
	"fermentum", "odio", "morbi", "urna", "neque", "convallis", "posuere", "mattis", "aliquam",
	"purus", "vulputate", "mi", "eros", "donec", "ante", "risus", "scelerisque", "fringilla",
	"phasellus", "condimentum", "interdum", "cras", "hendrerit", "dui", "accumsan", "nisl", "libero",
	"justo", "laoreet", "sollicitudin", "ornare", "quisque", "iaculis", "diam", "sodales", "praesent",
	"ridiculus", "mus", "penatibus", "magnis", "dis", "parturient", "montes", "nascetur", "luctus",
	"augue", "facilisis", "rutrum", "felis", "congue", "efficitur", "auctor", "nec", "metus", "sem",
	"fusce", "ultrices", "dictum", "primis", "cubilia", "curae", "vivamus", "porttitor", "venenatis",
	"dapibus", "facilisi", "habitant", "nam", "aliquet", "eleifend", "vehicula", "lobortis", "mollis",
	"class", "aptent", "taciti", "sociosqu", "litora", "torquent", "conubia", "nostra", "inceptos",
	"himenaeos", "suscipit", "maximus", "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta",
	"iota", "kappa", "lambda", "sigma", "omega", "axis", "rota", "forma", "linea", "nota", "pars",
	"opus", "via", "lux", "rex", "mare", "terra", "ignis", "ventus", "aqua", "lapis", "ferrum",
	"aurum", "silva", "campus", "portus", "pons", "turris", "murus", "castra", "navis", "stella",
	"caelum", "sol",
}

var givenNames = [...]string{
	"Ada", "Alan", "Alex", "Ana", "Ari", "Ava", "Ben", "Bea", "Cai", "Cam", "Cora", "Dan", "Dara",
	"Eli", "Ema", "Eva", "Finn", "Gia", "Gus", "Hana", "Ian", "Ida", "Ivo", "Jai", "Jan", "Jo", "Kai",
	"Kim", "Lea", "Leo", "Lia", "Liv", "Lou", "Max", "Mia", "Mo", "Nia", "Noa", "Ola", "Oli", "Pia",
	"Rae", "Ray", "Rio", "Ros", "Sam", "Sia", "Sol", "Tao", "Tea", "Teo", "Uma", "Val", "Vic", "Wes",
	"Yan",
}

var familyNames = [...]string{
	"Abbot", "Baker", "Carter", "Dalton", "Ellis", "Foster", "Garcia", "Hale", "Iqbal", "Jensen",
	"Kaur", "Larsen", "Moreau", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi", "Silva", "Tanaka",
	"Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Adeyemi", "Brandt", "Costa", "Dubois",
	"Eriksen", "Fischer", "Gomez", "Haas", "Ivanova", "Jovanovic", "Kowalski", "Lindqvist", "Mendes",
	"Novak", "Olsen", "Petrov", "Reyes", "Sato", "Torres", "Ulrich", "Vogel", "Walsh", "Yoon",
	"Ziegler",
}

var companyWords = [...]string{
	"Northwind", "Bluebird", "Granite", "Summit", "Cedar", "Harbor", "Ironwood", "Keystone",
	"Lakeside", "Meridian", "Oakridge", "Pinecrest", "Redstone", "Silverline", "Tidewater",
	"Westfield",
}

var companyNouns = [...]string{
	"Castings", "Fasteners", "Machining", "Plastics", "Components", "Alloys", "Electronics",
	"Composites", "Forge", "Optics", "Coatings", "Bearings", "Metals", "Polymers", "Tooling",
	"Cables",
}

var companySuffixes = [...]string{
	"Ltd", "Inc", "GmbH", "LLC", "AG", "Co", "SA", "BV",
}

var (
	loremSet         = setOf(loremWords[:])
	givenSet         = setOf(givenNames[:])
	familySet        = setOf(familyNames[:])
	companyWordSet   = setOf(companyWords[:])
	companyNounSet   = setOf(companyNouns[:])
	companySuffixSet = setOf(companySuffixes[:])
)

func setOf(words []string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
